echo running 2.4.0
