# Python packages the tests use as independent readers and clients (PyPI).
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
