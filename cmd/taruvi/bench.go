package main

import "context"

func runBench(ctx context.Context, e env) error { return nil }
