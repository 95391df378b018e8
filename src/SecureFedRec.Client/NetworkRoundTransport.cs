using Google.Protobuf;
using SecureFedRec.Privacy;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire;
using SecureFedRec.Wire.V1;
using ProtocolDropReason = SecureFedRec.Protocol.Wire.DropReason;
using ProtocolPhase = SecureFedRec.Protocol.Wire.Phase;
using ProtocolThreatMode = SecureFedRec.Protocol.Wire.ThreatMode;
using ServerToClient = SecureFedRec.Protocol.Wire.ServerToClient;
using ClientToServer = SecureFedRec.Protocol.Wire.ClientToServer;
using WireDropReason = SecureFedRec.Wire.V1.DropReason;
using WirePhase = SecureFedRec.Wire.V1.Phase;
using WireThreatMode = SecureFedRec.Wire.V1.ThreatMode;

namespace SecureFedRec.Client;

/// <summary>
/// The network <see cref="IRoundTransport"/> of the SDK over its existing call layer (signed gRPC calls with retries):
/// one thin adapter between the round pipeline's typed replies and coordinator.proto. It is replaced by
/// <c>GrpcRoundTransport</c> (generated grpc-dotnet clients) when the gRPC layer moves to grpc-dotnet.
/// </summary>
/// <remarks>coordinator.proto's RoundInfo carries the DP parameters but not the privacy unit or encoding: the contract
/// is rebuilt as the coordinator plans it (per institution, distributed discrete Gaussian); any other field changes the
/// binding and the client declines the round as a contract mismatch.</remarks>
internal sealed class NetworkRoundTransport(FederationClient client) : IRoundTransport
{
    public async Task<JoinReply> JoinAsync(CancellationToken cancellationToken)
    {
        JoinRoundResponse response;
        try
        {
            response = await client.CallAsync<JoinRoundRequest, JoinRoundResponse>(CoordinatorApi.JoinRound, new JoinRoundRequest(), cancellationToken).ConfigureAwait(false);
        }
        catch (WireException ex) when (ex.StatusCode == GrpcStatusCode.FailedPrecondition)
        {
            return new JoinReply(JoinOutcome.Finished, null, TimeSpan.Zero);
        }

        TimeSpan retry = TimeSpan.FromMilliseconds(Math.Max(50, response.RetryAfterMs));
        return response.Outcome switch
        {
            JoinRoundResponse.Types.Outcome.Selected => new JoinReply(JoinOutcome.Selected, new RoundInvitation(Contract(response.Round),
                (int)Math.Min(response.Round.ClientNumber, int.MaxValue), ServerToClient.Parser.ParseFrom(response.Payload),
                DateTimeOffset.FromUnixTimeMilliseconds(response.PhaseDeadlineUnixMs)), TimeSpan.Zero),
            JoinRoundResponse.Types.Outcome.NotSelected => new JoinReply(JoinOutcome.NotSelected, null, retry),
            _ => new JoinReply(JoinOutcome.Wait, null, retry),
        };
    }

    public async Task<SubmitReply> SubmitAsync(ulong roundId, ProtocolPhase phase, ClientToServer message, CancellationToken cancellationToken)
    {
        try
        {
            SubmitPhaseResponse response = await client.CallAsync<SubmitPhaseRequest, SubmitPhaseResponse>(CoordinatorApi.SubmitPhase, new SubmitPhaseRequest
            {
                RoundId = roundId,
                Phase = ToWire(phase),
                Payload = message.ToByteString(),
            }, cancellationToken).ConfigureAwait(false);
            return new SubmitReply(SubmitOutcome.Accepted, RoundRefusal.None, null, DateTimeOffset.FromUnixTimeMilliseconds(response.PhaseDeadlineUnixMs));
        }
        catch (WireException ex) when (Refusal(ex) is { } refusal)
        {
            return new SubmitReply(SubmitOutcome.Refused, refusal, ex.Message, default);
        }
    }

    public async Task<FetchReply> FetchAsync(ulong roundId, ProtocolPhase phase, CancellationToken cancellationToken)
    {
        FetchPhaseResponse response;
        try
        {
            response = await client.CallAsync<FetchPhaseRequest, FetchPhaseResponse>(CoordinatorApi.FetchPhase,
                new FetchPhaseRequest { RoundId = roundId, Phase = ToWire(phase) }, cancellationToken).ConfigureAwait(false);
        }
        catch (WireException ex) when (Refusal(ex) is { } refusal)
        {
            return new FetchReply(FetchOutcome.Refused, null, ProtocolDropReason.Unspecified, refusal, default, TimeSpan.Zero);
        }

        DateTimeOffset deadline = response.PhaseDeadlineUnixMs == 0 ? default : DateTimeOffset.FromUnixTimeMilliseconds(response.PhaseDeadlineUnixMs);
        return response.Outcome switch
        {
            FetchPhaseResponse.Types.Outcome.Ready => new FetchReply(FetchOutcome.Ready, ServerToClient.Parser.ParseFrom(response.Payload),
                ProtocolDropReason.Unspecified, RoundRefusal.None, deadline, TimeSpan.Zero),
            FetchPhaseResponse.Types.Outcome.Dropped => new FetchReply(FetchOutcome.Dropped, null, ToProtocol(response.DropReason), RoundRefusal.None, default, TimeSpan.Zero),
            FetchPhaseResponse.Types.Outcome.Aborted => new FetchReply(FetchOutcome.Aborted,
                response.Payload.IsEmpty ? null : ServerToClient.Parser.ParseFrom(response.Payload), ProtocolDropReason.Unspecified, RoundRefusal.None, default, TimeSpan.Zero),
            _ => new FetchReply(FetchOutcome.Pending, null, ProtocolDropReason.Unspecified, RoundRefusal.None, deadline,
                TimeSpan.FromMilliseconds(Math.Max(20, response.RetryAfterMs))),
        };
    }

    public async Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken)
    {
        ModelSnapshot snapshot = await client.GetModelAsync(version, cancellationToken).ConfigureAwait(false);
        return new ModelRelease(snapshot.Version, snapshot.RoundId, snapshot.Values, snapshot.RoundEpsilon, snapshot.TotalEpsilon);
    }

    /// <summary>The round contract as the coordinator planned it; malformed DP fields give a contract that fails its check.</summary>
    private static RoundContract Contract(RoundInfo info)
    {
        DpParameters dp = info.Dp ?? new DpParameters();
        var p = new MechanismParameters
        {
            Dimension = (int)Math.Min(dp.Dimension, int.MaxValue),
            Bits = (int)Math.Min(dp.Bits, 64),
            Clip = dp.Clip,
            Gamma = dp.Gamma,
            Beta = dp.Beta,
            SigmaSquaredNumerator = dp.SigmaSquaredNumerator,
            SigmaSquaredDenominator = dp.SigmaSquaredDenominator,
            PlannedClients = (int)Math.Min(dp.PlannedClients, int.MaxValue),
            MinClients = (int)Math.Min(dp.MinClients, int.MaxValue),
            Delta = dp.Delta,
            SamplingRate = dp.SamplingRate,
            K = dp.K,
        };
        ProtocolThreatMode mode = info.ThreatMode switch
        {
            WireThreatMode.HonestButCurious => ProtocolThreatMode.HonestButCurious,
            WireThreatMode.Malicious => ProtocolThreatMode.Malicious,
            _ => ProtocolThreatMode.Unspecified,
        };
        return new RoundContract(info.RoundId, info.ModelVersion, mode, p)
        {
            Privacy = PrivacyUnit.Institution,
            Encoding = UpdateEncoding.DistributedDiscreteGaussian,
            ClaimedEpsilon = dp.ClaimedEpsilon,
            UserClip = dp.Clip,
        };
    }

    /// <summary>Expected refusals of the current coordinator.proto statuses; null for failures to propagate.</summary>
    private static RoundRefusal? Refusal(WireException ex) => ex.StatusCode switch
    {
        GrpcStatusCode.NotFound => RoundRefusal.UnknownRound,
        GrpcStatusCode.AlreadyExists => RoundRefusal.ConflictingResubmission,
        GrpcStatusCode.InvalidArgument => RoundRefusal.ProtocolRefused,
        GrpcStatusCode.FailedPrecondition when ex.Message.Contains("dropped", StringComparison.OrdinalIgnoreCase) => RoundRefusal.Dropped,
        GrpcStatusCode.FailedPrecondition when ex.Message.Contains("cohort", StringComparison.OrdinalIgnoreCase) => RoundRefusal.NotInCohort,
        GrpcStatusCode.FailedPrecondition => RoundRefusal.PhaseClosed,
        _ => null,
    };

    private static WirePhase ToWire(ProtocolPhase phase) => phase switch
    {
        ProtocolPhase.AdvertiseKeys => WirePhase.AdvertiseKeys,
        ProtocolPhase.ShareKeys => WirePhase.ShareKeys,
        ProtocolPhase.MaskedInput => WirePhase.MaskedInput,
        ProtocolPhase.ConsistencyCheck => WirePhase.ConsistencyCheck,
        ProtocolPhase.Unmasking => WirePhase.Unmasking,
        ProtocolPhase.Completed => WirePhase.Completed,
        ProtocolPhase.Aborted => WirePhase.Aborted,
        _ => WirePhase.Unspecified,
    };

    private static ProtocolDropReason ToProtocol(WireDropReason reason) => reason switch
    {
        WireDropReason.DeadlineMissed => ProtocolDropReason.TimedOut,
        WireDropReason.ClientAborted => ProtocolDropReason.ClientAborted,
        _ => ProtocolDropReason.Malformed,
    };
}
