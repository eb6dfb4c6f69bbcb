-- The back office's database is created by the image (POSTGRES_DB=minsheng); Rasa's trackers get their own.
CREATE DATABASE rasa;
