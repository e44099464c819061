#!/bin/bash
echo "T-minus 3, 2, 1... liftoff!"
