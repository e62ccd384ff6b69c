"""Helpers the tests share: tiny models, mock backends, local servers and the project's paths."""
