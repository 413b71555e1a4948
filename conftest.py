"""Session-wide real infrastructure for every test directory of the workspace."""

pytest_plugins = ["crm_devstack.pytest_plugin"]
