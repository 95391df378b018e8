using SecureFedRec.Protocol.Client;
using SecureFedRec.Protocol.Wire;

namespace SecureFedRec.Protocol.Tests;

/// <summary>A client that gives up mid-round (<see cref="ClientState.Abandon"/>) wipes its round secrets and then rejects every input.</summary>
public sealed class ClientAbandonTests
{
    /// <summary>Copies of the references the context holds, taken before the abandon, to inspect afterwards.</summary>
    private sealed record Held(byte[] SelfSeed, Crypto.PrivateKey? CipherKey, Crypto.PrivateKey? MaskKey, byte[][] ShareKeys, byte[][] Shares);

    private static Held Capture(ClientState state)
    {
        ClientContext c = state.InternalContext;
        return new Held(
            c.SelfSeed,
            c.CipherKey,
            c.MaskKey,
            [.. c.ShareEncryptionKeys.Values],
            [.. c.HeldShares.Values.SelectMany(s => new[] { s.SelfSeed, s.MaskKey })]);
    }

    private static void AssertWiped(ClientState state, Held held)
    {
        ClientContext c = state.InternalContext;
        Assert.True(c.IsDisposed);
        Assert.All(held.SelfSeed, b => Assert.Equal(0, b));
        Assert.All(held.ShareKeys, k => Assert.All(k, b => Assert.Equal(0, b)));
        Assert.All(held.Shares, s => Assert.All(s, b => Assert.Equal(0, b)));
        Assert.Empty(c.ShareEncryptionKeys);
        Assert.Empty(c.HeldShares);
        if (held.CipherKey is not null)
        {
            Assert.Throws<ObjectDisposedException>(() => held.CipherKey.ExportPublicKey());
        }

        if (held.MaskKey is not null)
        {
            Assert.Throws<ObjectDisposedException>(() => held.MaskKey.ExportPublicKey());
        }
    }

    private static void AssertRejected(ClientState state, ServerToClient input)
    {
        ClientStep step = state.Handle(input);
        Assert.False(step.Accepted);
        Assert.Same(state, step.State);
        Assert.Null(step.Message);
        Assert.NotNull(step.Rejection);
    }

    [Theory]
    [InlineData(ThreatMode.Malicious, Phase.AdvertiseKeys)]
    [InlineData(ThreatMode.Malicious, Phase.ShareKeys)]
    [InlineData(ThreatMode.Malicious, Phase.MaskedInput)]
    [InlineData(ThreatMode.Malicious, Phase.ConsistencyCheck)]
    [InlineData(ThreatMode.Malicious, Phase.Unmasking)]
    [InlineData(ThreatMode.HonestButCurious, Phase.ShareKeys)]
    [InlineData(ThreatMode.HonestButCurious, Phase.MaskedInput)]
    [InlineData(ThreatMode.HonestButCurious, Phase.Unmasking)]
    public void Abandon_wipes_the_secrets_and_every_later_input_is_rejected(ThreatMode mode, Phase phase)
    {
        using var round = new ManualRound(mode);
        ClientState state = round.ClientAt(phase);
        ServerToClient pending = round.PendingFor(1);
        Held held = Capture(state);
        if (phase >= Phase.MaskedInput)
        {
            Assert.Contains(held.SelfSeed, b => b != 0);
            Assert.NotEmpty(held.ShareKeys);
            Assert.NotNull(held.MaskKey);
        }

        ClientState abandoned = state.Abandon();

        ClientAbortedState aborted = Assert.IsType<ClientAbortedState>(abandoned);
        Assert.True(aborted.IsAbandoned);
        Assert.Equal(ClientAbortReason.Unspecified, aborted.Reason);
        Assert.True(aborted.IsTerminal);
        AssertWiped(state, held);

        // The correct next message is refused by the abandoned state and by the stale pre-abandon state alike.
        AssertRejected(abandoned, pending);
        AssertRejected(state, pending);
        Assert.Equal(phase, state.Phase);
    }

    [Theory]
    [InlineData(Phase.AdvertiseKeys)]
    [InlineData(Phase.MaskedInput)]
    [InlineData(Phase.Unmasking)]
    public void Abandon_is_idempotent(Phase phase)
    {
        using var round = new ManualRound(ThreatMode.Malicious);
        ClientState state = round.ClientAt(phase);
        ServerToClient pending = round.PendingFor(1);
        Held held = Capture(state);

        ClientState first = state.Abandon();
        ClientState again = first.Abandon();
        ClientState staleAgain = state.Abandon();

        Assert.Same(first, again);
        Assert.Equal(Phase.Aborted, staleAgain.Phase);
        AssertWiped(state, held);
        AssertRejected(first, pending);
        AssertRejected(staleAgain, pending);
    }

    [Fact]
    public void Abandon_after_completion_is_harmless()
    {
        using var round = new ManualRound(ThreatMode.Malicious);
        round.ClientAt(Phase.Unmasking);
        round.DeliverPending();
        ClientState completed = round.Clients[1];
        Assert.Equal(Phase.Completed, completed.Phase);
        ClientToServer reply = round.Replies[1];
        Assert.Equal(ClientToServer.MessageOneofCase.Unmasking, reply.MessageCase);
        byte[] sent = Google.Protobuf.MessageExtensions.ToByteArray(reply);

        ClientState after = completed.Abandon();

        Assert.Same(completed, after);
        Assert.Equal(Phase.Completed, after.Phase);
        Assert.True(after.InternalContext.IsDisposed);
        Assert.Equal(sent, Google.Protobuf.MessageExtensions.ToByteArray(reply));

        // The round still completes at the coordinator with the shares already sent.
        round.FeedReplies();
        round.Close();
        Assert.Equal(Phase.Completed, round.Server.Phase);
    }

    [Fact]
    public void Abandon_after_a_protocol_abort_keeps_the_abort_reason()
    {
        using var round = new ManualRound(ThreatMode.Malicious);
        ClientState start = round.Clients[1];
        ServerToClient bad = round.PendingFor(1).Clone();
        bad.BeginRound.Parameters.Threshold = 99;
        ClientState aborted = start.Handle(bad).State;
        Assert.Equal(Phase.Aborted, aborted.Phase);

        ClientState after = aborted.Abandon();

        Assert.Same(aborted, after);
        ClientAbortedState state = Assert.IsType<ClientAbortedState>(after);
        Assert.Equal(ClientAbortReason.InvalidParameters, state.Reason);
        Assert.False(state.IsAbandoned);
        Assert.True(state.InternalContext.IsDisposed);
    }
}
