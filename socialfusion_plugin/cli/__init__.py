"""`socialfusion` command line: thin sub-commands over the package's parts."""
