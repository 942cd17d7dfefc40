"""The resident's one-stop journey: a life event from guidance to filed requests."""
