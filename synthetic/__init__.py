"""Stand-in data and checkpoints (sample and hard LIC-format data, the tiny BERT, masked-LM pretraining); not the library."""
