"""ESPnet task plugins: tasks that build from their own class choices."""
