"""The Slack adapter: create_app(settings), listeners by kind, middleware."""
