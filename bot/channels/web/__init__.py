"""What the web pages share (the people's chat, the mediators' dashboard): templates, static files, headers."""
