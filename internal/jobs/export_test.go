package jobs

// OptsFor exposes optsFor to the tests.
var OptsFor = optsFor
