using System.Diagnostics;
using Google.Protobuf;
using SecureFedRec.Crypto;
using SecureFedRec.Protocol.Client;
using SecureFedRec.Protocol.Server;
using SecureFedRec.Protocol.Session;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Simulation;

/// <summary>
/// Runs one whole secure-aggregation round in process: n client state machines and one coordinator state machine,
/// messages passed as objects (sizes measured as serialized bytes), phases closed as soon as every live client has
/// answered. For tests, simulations and benchmarks; it drives the production sessions (<see cref="SecAggServerSession"/>,
/// <see cref="SecAggClientSession"/>) that the coordinator and the SDK run, so it never assigns a state itself.
/// </summary>
/// <remarks>
/// <para>Clients run up to <see cref="SecAggConfig.Threads"/> at a time (each with its own randomness stream);
/// masked inputs are added to the coordinator's running sum as they are produced, so memory stays O(threads·d) plus
/// the inputs the caller holds (an <see cref="IReadOnlyList{T}"/> may produce vectors lazily). With a transcript
/// requested, clients run one at a time in id order so the transcript is reproducible.</para>
/// <para>Failures: invalid parameters, or inputs of the wrong count, length or range, throw
/// <see cref="ArgumentException"/>; protocol failures are reported in the outcome, never thrown.</para>
/// </remarks>
public static class InProcessRound
{
    /// <summary>Runs a round with an honest coordinator.</summary>
    public static SecAggOutcome Run(SecAggConfig config, IReadOnlyList<uint[]> inputs, DropoutPlan? dropouts = null,
        RandomSource? rng = null) =>
        Run(config, inputs, new RoundOptions { Dropouts = dropouts, Random = rng });

    /// <summary>Runs a round with the given options (misbehaving coordinator, transcript, identities).</summary>
    public static SecAggOutcome Run(SecAggConfig config, IReadOnlyList<uint[]> inputs, RoundOptions options)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        SecAggParameters parameters = config.ToParameters();
        if (inputs.Count != parameters.Count)
        {
            throw new ArgumentException($"Expected {parameters.Count} inputs, got {inputs.Count}.", nameof(inputs));
        }

        return new Runner(config, parameters, inputs, options).Run();
    }

    private sealed class Runner
    {
        private readonly SecAggConfig _config;
        private readonly SecAggParameters _parameters;
        private readonly IReadOnlyList<uint[]> _inputs;
        private readonly RoundOptions _options;
        private readonly DropoutPlan _dropouts;
        private readonly int _threads;
        private readonly object _gate = new();
        private readonly Dictionary<int, SecAggClientSession> _clients = [];
        private readonly Dictionary<int, int> _sentCount = [];
        private readonly long[] _sent;
        private readonly long[] _received;
        private readonly Dictionary<Phase, TimeSpan> _clientTime = [];
        private readonly Dictionary<Phase, int> _clientCount = [];
        private readonly Dictionary<Phase, TimeSpan> _serverTime = [];
        private readonly Dictionary<Phase, TimeSpan> _closeCpu = [];
        private readonly Dictionary<Phase, long> _clientAllocated = [];
        private readonly Dictionary<Phase, long> _serverAllocated = [];
        private readonly List<TranscriptEntry> _transcript = [];
        private readonly List<RevealedShareRecord> _revealed = [];
        private readonly List<IDisposable> _owned = [];
        private readonly MaskedVectorBuffers? _vectorPool;
        private SecAggServerSession _server = null!;

        public Runner(SecAggConfig config, SecAggParameters parameters, IReadOnlyList<uint[]> inputs, RoundOptions options)
        {
            _config = config;
            _parameters = parameters;
            _inputs = inputs;
            _options = options;
            _dropouts = options.Dropouts ?? new DropoutPlan();
            _threads = options.RecordTranscript ? 1 : config.Threads > 0 ? config.Threads : Environment.ProcessorCount;
            _sent = new long[parameters.Count];
            _received = new long[parameters.Count];

            // The masked-input buffers are recycled (rented by the client, returned once the coordinator added the vector
            // to its sum) unless something may keep a reference to a message: a coordinator script, a tamper hook, a transcript.
            // The pool is this round's own (never ArrayPool.Shared): no other reader in the process gets a buffer that held a
            // client's masked vector, and a returned buffer is zeroed before it is rented again.
            _vectorPool = options.PoolMaskedInputs && options.Script is null && options.TamperClientMessage is null && !options.RecordTranscript
                ? new MaskedVectorBuffers(checked(4 * parameters.Dimension))
                : null;
        }

        public SecAggOutcome Run()
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                return RunCore(start);
            }
            finally
            {
                foreach (IDisposable owned in _owned)
                {
                    owned.Dispose();
                }

                _vectorPool?.Dispose();
            }
        }

        private SecAggOutcome RunCore(long start)
        {
            Dictionary<int, IdentityPublicKey>? roster = null;
            Dictionary<int, IdentitySigningKey>? identities = null;
            if (_parameters.IsMalicious)
            {
                identities = [];
                foreach (int id in _parameters.ClientIds)
                {
                    if (_options.Identities is not null && _options.Identities.TryGetValue(id, out IdentitySigningKey? given))
                    {
                        identities[id] = given;
                    }
                    else
                    {
                        IdentitySigningKey generated = IdentitySigningKey.Generate(_options.IdentitySuite, _options.Random);
                        _owned.Add(generated);
                        identities[id] = generated;
                    }
                }

                roster = identities.ToDictionary(kv => kv.Key, kv => kv.Value.PublicIdentity);
            }

            Span<byte> seed = stackalloc byte[32];
            foreach (int id in _parameters.ClientIds)
            {
                RandomSource clientRng = RandomSource.System;
                if (_options.Random is not null)
                {
                    _options.Random.Fill(seed);
                    var derived = new DeterministicRandomSource(seed);
                    System.Security.Cryptography.CryptographicOperations.ZeroMemory(seed);
                    _owned.Add(derived);
                    clientRng = derived;
                }

                int index = _parameters.IndexOf(id);
                var session = new SecAggClientSession(new ClientOptions(id, _ => _inputs[index])
                {
                    Random = clientRng,
                    Identity = identities?.GetValueOrDefault(id),
                    EnrolledIdentities = roster,
                    MaskedVectorPool = _vectorPool,
                });
                _owned.Add(session);
                _clients[id] = session;
                _sentCount[id] = 0;
            }

            long t0 = Stopwatch.GetTimestamp();
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            _server = SecAggServerSession.Start(_parameters, new ServerOptions
            {
                EnrolledIdentities = roster,
                Threads = _config.Threads,
            });
            AddServerTime(Phase.AdvertiseKeys, Stopwatch.GetElapsedTime(t0));
            Add(_serverAllocated, Phase.AdvertiseKeys, GC.GetAllocatedBytesForCurrentThread() - a0);
            while (true)
            {
                Deliver(_server.PhaseMessages, _server.Phase);
                if (_server.IsTerminal)
                {
                    break;
                }

                Phase phase = _server.Phase;
                TimeSpan cpu0 = ProcessCpu();
                t0 = Stopwatch.GetTimestamp();
                a0 = GC.GetTotalAllocatedBytes();
                _server.Close();
                Add(_serverAllocated, phase, GC.GetTotalAllocatedBytes() - a0);
                AddServerTime(phase, Stopwatch.GetElapsedTime(t0));
                _closeCpu[phase] = ProcessCpu() - cpu0;
            }

            var aborts = _clients.Where(kv => kv.Value.State is ClientAbortedState)
                .ToDictionary(kv => kv.Key, kv => ((ClientAbortedState)kv.Value.State).Reason);
            var metrics = new SecAggMetrics(_clientTime, _clientCount, _serverTime, _sent, _received,
                _server.PeakMemoryBytes, Stopwatch.GetElapsedTime(start))
            {
                CoordinatorCloseCpuTime = _closeCpu,
                ClientAllocatedBytes = _clientAllocated,
                CoordinatorAllocatedBytes = _serverAllocated,
                MaskedInputBuffersAllocated = _vectorPool?.Allocated,
                MaskedInputBuffersPeak = _vectorPool?.PeakOutstanding,
            };
            var drops = new Dictionary<int, DropReason>(_server.Dropped);
            return _server.State switch
            {
                ServerCompletedState done => new SecAggOutcome(_parameters, true, done.Sum, done.Contributors,
                    RoundOutcome.Completed, aborts, drops, metrics, _revealed, _transcript),
                ServerAbortedState aborted => new SecAggOutcome(_parameters, false, [], [], aborted.Outcome, aborts,
                    drops, metrics, _revealed, _transcript),
                _ => new SecAggOutcome(_parameters, false, [], [], RoundOutcome.Unspecified, aborts, drops, metrics,
                    _revealed, _transcript),
            };
        }

        /// <summary>Delivers one phase's messages (through the script), runs the clients and feeds their replies.</summary>
        private void Deliver(IReadOnlyList<OutgoingMessage> messages, Phase phase)
        {
            var rewritten = new List<OutgoingMessage>();
            foreach (OutgoingMessage m in messages)
            {
                IEnumerable<ServerToClient> replacements = _options.Script?.Rewrite(m.ClientId, m.Message, phase) ?? [m.Message];
                rewritten.AddRange(replacements.Select(r => new OutgoingMessage(m.ClientId, r)));
            }

            if (_options.Script is not null)
            {
                rewritten.AddRange(_options.Script.Inject(phase).Where(m => _clients.ContainsKey(m.ClientId)));
            }

            var batches = rewritten.GroupBy(m => m.ClientId).OrderBy(g => g.Key)
                .Select(g => (Client: g.Key, Messages: g.Select(m => m.Message).ToList())).ToList();

            var parallel = new ParallelOptions { MaxDegreeOfParallelism = _threads };
            Parallel.ForEach(batches, parallel, batch =>
            {
                foreach (ServerToClient message in batch.Messages)
                {
                    RunClient(batch.Client, message, phase);
                }
            });
        }

        private void RunClient(int id, ServerToClient message, Phase phase)
        {
            SecAggClientSession state;
            lock (_gate)
            {
                state = _clients[id];
                if (_sentCount[id] >= _dropouts.MessagesAllowed(id))
                {
                    return; // offline
                }

                _received[_parameters.IndexOf(id)] += message.CalculateSize();
                Record(false, id, message.MessageCase.ToString(), message);
                if (state.IsTerminal)
                {
                    return; // e.g. the round result after unmasking: delivered, nothing to do
                }
            }

            Phase clientPhase = state.Phase;
            long t0 = Stopwatch.GetTimestamp();
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            ClientSessionStep step = state.Handle(message);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - a0;
            TimeSpan elapsed = Stopwatch.GetElapsedTime(t0);
            try
            {
                TakeReply(id, clientPhase, step, elapsed, allocated);
            }
            finally
            {
                // Whatever became of the reply (summed by the coordinator, refused, or lost with an offline client), nothing
                // refers to its masked-input buffer any more: the coordinator keeps only a fingerprint of a message.
                if (_vectorPool is not null && step.Reply is { MessageCase: ClientToServer.MessageOneofCase.MaskedInput } sent
                    && System.Runtime.InteropServices.MemoryMarshal.TryGetArray(sent.MaskedInput.MaskedVector.Memory, out ArraySegment<byte> buffer)
                    && buffer.Array is { } array)
                {
                    _vectorPool.Return(array);
                }
            }
        }

        /// <summary>Accounts for one client step and hands its reply (if any, and if the client is still online) to the coordinator.</summary>
        private void TakeReply(int id, Phase clientPhase, ClientSessionStep step, TimeSpan elapsed, long allocated)
        {
            lock (_gate)
            {
                Add(_clientAllocated, clientPhase, allocated);
                if (step.Status == ClientSessionStatus.Refused)
                {
                    return;
                }

                _clientTime[clientPhase] = _clientTime.GetValueOrDefault(clientPhase) + elapsed;
                _clientCount[clientPhase] = _clientCount.GetValueOrDefault(clientPhase) + 1;
                ClientToServer? reply = step.Reply;
                if (reply is null)
                {
                    return;
                }

                if (reply.MessageCase != ClientToServer.MessageOneofCase.Abort)
                {
                    int ordinal = Ordinal(reply.MessageCase);
                    if (ordinal > _dropouts.MessagesAllowed(id))
                    {
                        _sentCount[id] = int.MaxValue; // offline from here on
                        return;
                    }

                    // With a Harary graph the advertisement stage ends with the relabelling reveal: a client dropping
                    // "after AdvertiseKeys" still answers the RelabelRevealRequest.
                    _sentCount[id] = reply.MessageCase == ClientToServer.MessageOneofCase.AdvertiseKeys && _parameters.UsesRelabelling
                        ? ordinal - 1
                        : ordinal;
                }

                if (_options.TamperClientMessage is { } tamper)
                {
                    reply = tamper(id, reply);
                    if (reply is null)
                    {
                        return;
                    }
                }

                _sent[_parameters.IndexOf(id)] += reply.CalculateSize();
                Record(true, id, reply.MessageCase.ToString(), reply);
                if (reply.MessageCase == ClientToServer.MessageOneofCase.Unmasking)
                {
                    foreach (RevealedShare share in reply.Unmasking.Shares)
                    {
                        _revealed.Add(new RevealedShareRecord(id, (int)share.OwnerId, share.Kind));
                    }
                }

                _options.Script?.Observe(id, reply);
                Phase serverPhase = _server.Phase;
                long s0 = Stopwatch.GetTimestamp();
                long sa0 = GC.GetAllocatedBytesForCurrentThread();
                _server.Handle(id, reply);
                Add(_serverAllocated, serverPhase, GC.GetAllocatedBytesForCurrentThread() - sa0);
                AddServerTime(serverPhase, Stopwatch.GetElapsedTime(s0));
            }
        }

        /// <summary>Position of a message in the round (matches <see cref="DropPoint"/>).</summary>
        private static int Ordinal(ClientToServer.MessageOneofCase kind) => kind switch
        {
            ClientToServer.MessageOneofCase.AdvertiseKeys => 1,
            ClientToServer.MessageOneofCase.RelabelReveal => 1, // part of the advertisement: AfterAdvertiseKeys still reveals
            ClientToServer.MessageOneofCase.ShareKeys => 2,
            ClientToServer.MessageOneofCase.MaskedInput => 3,
            ClientToServer.MessageOneofCase.ConsistencySignature => 4,
            _ => 5,
        };

        private void Record(bool fromClient, int id, string kind, IMessage message)
        {
            if (_options.RecordTranscript)
            {
                _transcript.Add(new TranscriptEntry(fromClient, id, kind, message.ToByteArray()));
            }
        }

        /// <summary>CPU time of this process: while the coordinator closes a phase no client runs, so the delta is its own.</summary>
        private static TimeSpan ProcessCpu()
        {
            using Process process = Process.GetCurrentProcess();
            return process.TotalProcessorTime;
        }

        private static void Add(Dictionary<Phase, long> bytes, Phase phase, long value) =>
            bytes[phase] = bytes.GetValueOrDefault(phase) + value;

        private void AddServerTime(Phase phase, TimeSpan elapsed) =>
            _serverTime[phase] = _serverTime.GetValueOrDefault(phase) + elapsed;
    }
}
