echo running 2.3.0
