"""Ingest stage (取込): read department exports through the mapping tabs."""
