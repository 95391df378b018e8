// The CLI runs in-process with Console.Out/Error redirected and SECUREFEDREC_* environment variables set per test:
// both are process-wide, so the tests of this assembly run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
