"""Predict the degradation of LR images from the discovered filters (finding 3; see `--help`; the implementation
is faig.cli.prediction)."""
from faig.cli.prediction import predict_main

if __name__ == '__main__':
    predict_main()
