// One coordinator and one browser per class; the classes share the machine's two cores, so they run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
