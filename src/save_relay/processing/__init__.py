"""The processing stage: the processor that runs each stored message once, the scheduler, the reply gate."""
