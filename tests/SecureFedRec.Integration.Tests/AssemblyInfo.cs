// The integration tests start real servers and processes with phase deadlines; on a shared 2-core machine running them
// one at a time keeps the deadlines meaningful.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
