"""Generated from protos/recallr/v1; do not edit."""
