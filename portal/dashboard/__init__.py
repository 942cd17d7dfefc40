"""The resident's home: what they can start, what is under way, what the portal knows of them."""
