"""County profiles (county/<name>/*.yml) and the pure-Python judgements shared by the API and the bot.

Nothing here imports the API or Rasa: county.risk runs unchanged in both virtualenvs (stdlib + PyYAML).
"""
