"""The question bank, scenario table and exam facts (YAML), with their schema and loader."""

from content.loader import BankError, ContentProblem, load_bank

__all__ = ["BankError", "ContentProblem", "load_bank"]
