"""Use-case level rules shared by the API layer: errors, validation, paging."""
