package main

import "context"

func runDev(ctx context.Context, e env) error { return nil }
