"""Repository-level pytest configuration: the plugin is loaded through its
pytest11 entry point once installed (ci/setup does `pip install -e .`)."""
