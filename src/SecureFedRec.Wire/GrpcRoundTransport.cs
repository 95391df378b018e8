using Google.Protobuf;
using Grpc.Core;
using SecureFedRec.Protocol.Wire;
using SecureFedRec.Rounds;
using SecureFedRec.Rounds.Transport;
using SecureFedRec.Wire.Client;
using SecureFedRec.Wire.V1;

namespace SecureFedRec.Wire;

/// <summary>
/// <see cref="IRoundTransport"/> over the coordinator's <c>Rounds</c> service: each call goes through
/// <see cref="CoordinatorChannel.InvokeAsync"/> (signed, per-attempt deadline, transient statuses retried). Refusals the
/// coordinator ends with a status and an <c>x-sfr-refusal</c> trailer come back as values (<see cref="RoundStatus"/>);
/// anything else that fails is thrown (<see cref="RpcException"/>, <see cref="CoordinatorTlsException"/>,
/// <see cref="FormatException"/> for a malformed payload).
/// </summary>
/// <remarks>Thread-safe; does not own the channel.</remarks>
public sealed partial class GrpcRoundTransport : IRoundTransport
{
    private readonly CoordinatorChannel _channel;

    /// <summary>Creates the transport over <paramref name="channel"/>.</summary>
    public GrpcRoundTransport(CoordinatorChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _channel = channel;
    }

    /// <inheritdoc />
    public async Task<JoinReply> JoinAsync(CancellationToken cancellationToken)
    {
        JoinRoundResponse response;
        try
        {
            response = await _channel.InvokeAsync("JoinRound",
                o => _channel.Rounds.JoinRoundAsync(new JoinRoundRequest(), o), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (RoundStatus.TryParse(ex, out RoundRefusal refusal) && refusal == RoundRefusal.Finished)
        {
            return new JoinReply(JoinOutcome.Finished, null, TimeSpan.Zero);
        }

        TimeSpan retry = TimeSpan.FromMilliseconds(response.RetryAfterMs);
        switch (response.Outcome)
        {
            case JoinRoundResponse.Types.Outcome.Selected:
                RoundInfo info = response.Round ?? throw new FormatException("JoinRound SELECTED without a round.");
                RoundContract contract = RoundCodec.FromWire(info);
                ServerToClient opening = Parse(response.Payload);
                if (info.ClientNumber is 0 or > int.MaxValue)
                {
                    throw new FormatException("client_number out of range.");
                }

                return new JoinReply(JoinOutcome.Selected,
                    new RoundInvitation(contract, (int)info.ClientNumber, opening, FromUnixMs(response.PhaseDeadlineUnixMs)), retry);
            case JoinRoundResponse.Types.Outcome.Wait:
                return new JoinReply(JoinOutcome.Wait, null, retry);
            case JoinRoundResponse.Types.Outcome.NotSelected:
                return new JoinReply(JoinOutcome.NotSelected, null, retry);
            case JoinRoundResponse.Types.Outcome.Finished:
                return new JoinReply(JoinOutcome.Finished, null, retry);
            default:
                throw new FormatException("JoinRound outcome " + response.Outcome + " is not in the vocabulary.");
        }
    }

    /// <inheritdoc />
    public async Task<SubmitReply> SubmitAsync(ulong roundId, Phase phase, ClientToServer message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (ShouldChunk(message))
        {
            return await SubmitChunkedAsync(roundId, phase, message, cancellationToken).ConfigureAwait(false);
        }

        var request = new SubmitPhaseRequest { RoundId = roundId, Phase = phase, Payload = message.ToByteString() };
        try
        {
            SubmitPhaseResponse response = await _channel.InvokeAsync("SubmitPhase",
                o => _channel.Rounds.SubmitPhaseAsync(request, o), cancellationToken).ConfigureAwait(false);
            return new SubmitReply(SubmitOutcome.Accepted, RoundRefusal.None, null, FromUnixMs(response.PhaseDeadlineUnixMs));
        }
        catch (RpcException ex) when (RoundStatus.TryParse(ex, out RoundRefusal refusal))
        {
            return new SubmitReply(SubmitOutcome.Refused, refusal, ex.Status.Detail, DateTimeOffset.MinValue);
        }
    }

    /// <inheritdoc />
    public async Task<FetchReply> FetchAsync(ulong roundId, Phase phase, CancellationToken cancellationToken)
    {
        FetchPhaseResponse response;
        try
        {
            response = await _channel.InvokeAsync("FetchPhase",
                o => _channel.Rounds.FetchPhaseAsync(new FetchPhaseRequest { RoundId = roundId, Phase = phase }, o), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (RoundStatus.TryParse(ex, out RoundRefusal refusal))
        {
            return new FetchReply(FetchOutcome.Refused, null, DropReason.Unspecified, refusal, DateTimeOffset.MinValue, TimeSpan.Zero);
        }

        DateTimeOffset deadline = FromUnixMs(response.PhaseDeadlineUnixMs);
        TimeSpan retry = TimeSpan.FromMilliseconds(response.RetryAfterMs);
        return response.Outcome switch
        {
            FetchPhaseResponse.Types.Outcome.Ready => new FetchReply(FetchOutcome.Ready, Parse(response.Payload), DropReason.Unspecified, RoundRefusal.None, deadline, retry),
            FetchPhaseResponse.Types.Outcome.Pending => new FetchReply(FetchOutcome.Pending, null, DropReason.Unspecified, RoundRefusal.None, deadline, retry),
            FetchPhaseResponse.Types.Outcome.Dropped => new FetchReply(FetchOutcome.Dropped, null, response.DropReason, RoundRefusal.None, deadline, retry),
            FetchPhaseResponse.Types.Outcome.Aborted => new FetchReply(FetchOutcome.Aborted,
                response.Payload.IsEmpty ? null : Parse(response.Payload), DropReason.Unspecified, RoundRefusal.None, deadline, retry),
            _ => throw new FormatException("FetchPhase outcome " + response.Outcome + " is not in the vocabulary."),
        };
    }

    /// <inheritdoc />
    public async Task<ModelRelease> GetModelAsync(ulong version, CancellationToken cancellationToken)
    {
        // By byte range (coordinator.md §7.5): one call for a model up to 1 MiB, bounded messages for any size.
        return await GetModelByRangesAsync(version, cancellationToken).ConfigureAwait(false);
    }

    private static ServerToClient Parse(ByteString payload)
    {
        try
        {
            return ServerToClient.Parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new FormatException("The payload is not a securefedrec.secagg.v1.ServerToClient message.", ex);
        }
    }

    private static DateTimeOffset FromUnixMs(long ms) =>
        ms <= 0 ? DateTimeOffset.MinValue : DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(ms, 253402300799999));
}
