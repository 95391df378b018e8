using System.Collections.Concurrent;

namespace SecureFedRec.Rounds.Internal;

/// <summary>
/// Runs a client's CPU-heavy round steps (the DP encoding of its update, each phase's protocol step: signatures, key
/// agreements, sharing, mask generation) on a few dedicated threads — one per core, shared by every client round in the
/// process — instead of on the thread pool.
/// </summary>
/// <remarks>
/// Why: a process that runs many clients (an institution's silos, the networked benchmark's 1,000 SDK clients) would
/// otherwise fill the thread pool's queue with hundreds of CPU-bound steps at once (every client gets its phase message
/// when the phase opens). The network continuations of the clients that already finished — sending their masked input,
/// reading the next phase — queue behind all of them, so no upload reaches the coordinator until every client has
/// computed, and the coordinator then receives them all at the end of the phase with the clients idle. On these threads
/// the steps wait in their own queue, the pool stays free for I/O, and the OS shares the cores between the two. For a
/// process with one client this only moves its steps to another thread.
/// </remarks>
internal static class ComputeThreads
{
    private static readonly Lazy<DedicatedScheduler> Scheduler = new(() => new DedicatedScheduler(Environment.ProcessorCount));

    /// <summary>Runs <paramref name="step"/> on a compute thread; its exception, if any, is the returned task's.</summary>
    public static Task<T> RunAsync<T>(Func<T> step, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(step, cancellationToken, TaskCreationOptions.DenyChildAttach, Scheduler.Value);

    private sealed class DedicatedScheduler : TaskScheduler
    {
        [ThreadStatic]
        private static bool _onComputeThread;

        private readonly BlockingCollection<Task> _queue = [];

        public DedicatedScheduler(int threads)
        {
            for (int i = 0; i < threads; i++)
            {
                var thread = new Thread(Work)
                {
                    IsBackground = true,
                    Name = "sfr-compute-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
                thread.Start();
            }

            MaximumConcurrencyLevel = threads;
        }

        public override int MaximumConcurrencyLevel { get; }

        protected override void QueueTask(Task task) => _queue.Add(task);

        // Inlining would run a step on the caller's (pool) thread: only when the caller already is a compute thread.
        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => _onComputeThread && TryExecuteTask(task);

        protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();

        private void Work()
        {
            _onComputeThread = true;
            foreach (Task task in _queue.GetConsumingEnumerable())
            {
                TryExecuteTask(task);
            }
        }
    }
}
