"""Where the person is and the places near them: geography, locations, the catalogue (import, search), offers."""
