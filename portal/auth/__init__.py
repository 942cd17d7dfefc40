"""Sign-in with OpenID Connect, standing in for the My Number card's public authentication."""
