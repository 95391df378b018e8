using SecureFedRec.Protocol.Simulation;
using SecureFedRec.Protocol.Wire;
using GraphKind = SecureFedRec.Protocol.Graph.GraphKind;

namespace SecureFedRec.Protocol.Tests;

public class RoundTests
{
    [Theory]
    [InlineData(ThreatMode.HonestButCurious, Crypto.KeyAgreementSuite.X25519)]
    [InlineData(ThreatMode.Malicious, Crypto.KeyAgreementSuite.X25519)]
    [InlineData(ThreatMode.HonestButCurious, Crypto.KeyAgreementSuite.P256)]
    [InlineData(ThreatMode.Malicious, Crypto.KeyAgreementSuite.P256)]
    public void Full_round_without_dropouts_returns_the_exact_sum(ThreatMode mode, Crypto.KeyAgreementSuite suite)
    {
        uint[][] inputs = TestSupport.RandomInputs(5, 16, 16, 1);
        SecAggOutcome outcome = TestSupport.Run(new SecAggConfig(5, 3, 16, 16, mode, Suite: suite), inputs);
        Assert.True(outcome.Completed, outcome.Outcome.ToString());
        Assert.Equal([1, 2, 3, 4, 5], outcome.Contributors);
        Assert.Equal(TestSupport.ExpectedSum(inputs, [1, 2, 3, 4, 5], 16), outcome.Sum);
    }

    [Theory]
    [InlineData(ThreatMode.HonestButCurious)]
    [InlineData(ThreatMode.Malicious)]
    public void Dropouts_after_share_keys_and_after_masked_input_still_sum_the_survivors(ThreatMode mode)
    {
        uint[][] inputs = TestSupport.RandomInputs(5, 16, 16, 2);
        var plan = new DropoutPlan().Drop(2, DropPoint.AfterShareKeys).Drop(4, DropPoint.AfterMaskedInput);
        SecAggOutcome outcome = TestSupport.Run(new SecAggConfig(5, 3, 16, 16, mode), inputs, plan);
        Assert.True(outcome.Completed, outcome.Outcome.ToString());
        Assert.Equal([1, 3, 4, 5], outcome.Contributors);
        Assert.Equal(TestSupport.ExpectedSum(inputs, [1, 3, 4, 5], 16), outcome.Sum);
    }

    [Fact]
    public void Harary_graph_round_with_dropouts_sums_the_survivors()
    {
        uint[][] inputs = TestSupport.RandomInputs(20, 8, 20, 3);
        // Client 11 advertises and reveals its relabelling seed, then goes silent (a Harary round needs every member's reveal).
        var plan = new DropoutPlan().Drop(3, DropPoint.AfterShareKeys).Drop(7, DropPoint.AfterShareKeys).Drop(11, DropPoint.AfterAdvertiseKeys);
        SecAggOutcome outcome = TestSupport.Run(new SecAggConfig(20, 4, 8, 20, Graph: GraphKind.Harary, Degree: 6), inputs, plan);
        Assert.True(outcome.Completed, outcome.Outcome.ToString());
        int[] expected = Enumerable.Range(1, 20).Except([3, 7, 11]).ToArray();
        Assert.Equal(expected, outcome.Contributors);
        Assert.Equal(TestSupport.ExpectedSum(inputs, expected, 20), outcome.Sum);
    }

    [Theory]
    [InlineData(ThreatMode.HonestButCurious)]
    [InlineData(ThreatMode.Malicious)]
    public void A_Harary_round_aborts_when_a_cohort_member_never_advertises(ThreatMode mode)
    {
        uint[][] inputs = TestSupport.RandomInputs(10, 4, 16, 5);
        var plan = new DropoutPlan().Drop(6, DropPoint.BeforeAdvertiseKeys);
        SecAggOutcome outcome = TestSupport.Run(new SecAggConfig(10, 3, 4, 16, mode, GraphKind.Harary, 4), inputs, plan);
        Assert.False(outcome.Completed);
        Assert.Equal(RoundOutcome.AbortedIncompleteRelabelling, outcome.Outcome);
    }
}
