using SecureFedRec.Recommender.Data;
using SecureFedRec.Recommender.Federated;
using SecureFedRec.Recommender.Ranking;

namespace SecureFedRec.Recommender.Tests;

/// <summary>The eigenvalue-floor projection that keeps a noised Gram matrix usable.</summary>
public sealed class EigenvalueFloorTests
{
    /// <summary>A = R·diag(λ)·Rᵀ for a fixed 3 × 3 rotation R (orthonormal columns).</summary>
    private static double[] WithEigenvalues(double l0, double l1, double l2)
    {
        var c = Math.Cos(0.7);
        var s = Math.Sin(0.7);
        var c2 = Math.Cos(-1.1);
        var s2 = Math.Sin(-1.1);

        // R = Rz(0.7)·Rx(−1.1)
        double[] r = [c, -s * c2, s * s2, s, c * c2, -c * s2, 0, s2, c2];
        double[] l = [l0, l1, l2];
        var a = new double[9];
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                for (var e = 0; e < 3; e++)
                {
                    a[(i * 3) + j] += r[(i * 3) + e] * l[e] * r[(j * 3) + e];
                }
            }
        }

        return a;
    }

    [Theory]
    [InlineData(5, 2, 0.5, 0, 5, 2, 0.5)] // already PSD: unchanged
    [InlineData(5, -2, 0.5, 0, 5, 0, 0.5)] // one negative eigenvalue floored to 0
    [InlineData(-1, -2, -3, 0, 0, 0, 0)] // negative definite: projects to 0
    [InlineData(5, -2, 0.5, 1, 5, 1, 1)] // a positive floor raises every small eigenvalue
    public void Floors_the_eigenvalues_and_keeps_the_eigenvectors(double l0, double l1, double l2, double floor, double e0, double e1, double e2)
    {
        var a = WithEigenvalues(l0, l1, l2);
        Kernels.ProjectToEigenvalueFloor(a, 3, floor);
        var expected = WithEigenvalues(e0, e1, e2);
        for (var x = 0; x < 9; x++)
        {
            Assert.Equal(expected[x], a[x], 10);
        }
    }

    [Fact]
    public void Symmetrises_an_asymmetric_input_and_treats_non_finite_entries_as_zero()
    {
        double[] a = [2, 1, 3, double.NaN];
        Kernels.ProjectToEigenvalueFloor(a, 2, 0);

        // (A + Aᵀ)/2 with NaN → 0 is [[2, 2], [2, 0]]: eigenvalues 1 ± √5; the negative one is floored.
        var top = 1 + Math.Sqrt(5);
        var v = new[] { 2.0, top - 2 };
        var norm = Math.Sqrt((v[0] * v[0]) + (v[1] * v[1]));
        Assert.Equal(top * v[0] * v[0] / (norm * norm), a[0], 10);
        Assert.Equal(top * v[0] * v[1] / (norm * norm), a[1], 10);
        Assert.Equal(a[1], a[2]);
        Assert.Equal(top * v[1] * v[1] / (norm * norm), a[3], 10);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(2, 3)]
    public void Refuses_a_wrong_shape(int n, int length) =>
        Assert.ThrowsAny<ArgumentException>(() => Kernels.ProjectToEigenvalueFloor(new double[length], n, 0));

    [Fact]
    public void Refuses_a_non_finite_floor() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Kernels.ProjectToEigenvalueFloor(new double[4], 2, double.NaN));

    [Fact]
    public void A_64_dimensional_noised_gram_comes_back_positive_semidefinite()
    {
        const int K = 64;
        using var rng = Internal.Rng.ForPurpose(7, "eigen-floor-test");
        var a = new double[K * K];
        for (var x = 0; x < a.Length; x++)
        {
            a[x] = 40 * rng.NextGaussian();
        }

        Kernels.ProjectToEigenvalueFloor(a, K, 0);

        // PSD: a Cholesky of A + εI needs no clamped pivot, so it solves exactly.
        var m = a.ToArray();
        for (var x = 0; x < K; x++)
        {
            m[(x * K) + x] += 1e-6;
        }

        var b = Enumerable.Range(0, K).Select(i => (double)(i % 5) - 2).ToArray();
        var solution = b.ToArray();
        Kernels.SolveSpd(m.ToArray(), solution, K, 0);
        for (var i = 0; i < K; i++)
        {
            var row = 0.0;
            for (var j = 0; j < K; j++)
            {
                row += m[(i * K) + j] * solution[j];
            }

            Assert.Equal(b[i], row, 4);
        }
    }
}

/// <summary>iALS under heavy DP noise: the server step is well posed, scores are finite, and the popularity prior.</summary>
public sealed class DpIalsTests
{
    private static readonly RankingSplit Split = Planted.Split();

    [Fact]
    public void Server_step_from_an_indefinite_noised_gram_never_amplifies_the_item_factors()
    {
        // The defect behind "HR@10 = 0 at ε ≤ 1": a noised Gram G with eigenvalues below −λ made G + λI indefinite;
        // the clamped Cholesky then inverted a wrong matrix and every round multiplied q by ~|G|/λ until it overflowed.
        const int K = 4;
        var hp = new RankingHyperparameters { Factors = K, Lambda = 2 };
        var model = new IalsModel(5, hp);
        var shared = Enumerable.Range(0, model.SharedLength).Select(i => 0.1 * ((i % 3) - 1)).ToArray();
        var sum = new double[model.UpdateRows * model.UpdateWidth];
        var bound = 0.0;
        for (var i = 0; i < 5; i++)
        {
            var norm = 0.0;
            for (var x = 0; x < K; x++)
            {
                var v = ((i + x) % 3) - 1.0;
                sum[(i * 2 * K) + x] = v; // s_i
                norm += v * v;

                // h_i: noise made the curvature negative; it is a sum of squares, so it is floored at 0
                sum[(i * 2 * K) + K + x] = -3;
            }

            bound = Math.Max(bound, Math.Sqrt(norm) / hp.Lambda);
        }

        var gram = 5 * model.UpdateWidth;
        for (var x = 0; x < K; x++)
        {
            sum[gram + (x * K) + x] = -100;
        }

        bound = Math.Max(bound, Enumerable.Range(0, 5).Max(i => Math.Sqrt(shared.Skip(i * K).Take(K).Sum(v => v * v))));
        var direction = new double[model.SharedLength];
        for (var round = 0; round < 30; round++)
        {
            model.Direction(shared, sum, direction);
            for (var x = 0; x < shared.Length; x++)
            {
                shared[x] += direction[x];
            }

            for (var i = 0; i < 5; i++)
            {
                var norm = Math.Sqrt(shared.Skip(i * K).Take(K).Sum(v => v * v));
                Assert.True(norm <= bound * (1 + 1e-9), $"round {round + 1}, item {i}: |q| = {norm} > {bound}");
            }
        }
    }

    [Fact]
    public void Server_step_with_an_exact_gram_is_unchanged_by_the_projection()
    {
        // A PSD Gram (no noise): the step equals the plain solve of (G + λI + tr(h)I) d = −((G + λI)q + s).
        const int K = 3;
        var hp = new RankingHyperparameters { Factors = K, Lambda = 1.5 };
        var model = new IalsModel(2, hp);
        double[] shared = [0.3, -0.2, 0.1, 0.05, 0.4, -0.3];
        var sum = new double[model.UpdateRows * model.UpdateWidth];
        double[] s0 = [0.7, -0.1, 0.2];
        double[] h0 = [0.5, 0.25, 1];
        s0.CopyTo(sum, 0);
        h0.CopyTo(sum, K);
        double[] p = [1, 2, -1];
        var gramAt = 2 * model.UpdateWidth;
        for (var x = 0; x < K; x++)
        {
            for (var y = 0; y < K; y++)
            {
                sum[gramAt + (x * K) + y] = (p[x] * p[y]) + (x == y ? 0.5 : 0);
            }
        }

        var direction = new double[model.SharedLength];
        model.Direction(shared, sum, direction);

        var g = new double[K * K];
        var rhs = new double[K];
        for (var x = 0; x < K; x++)
        {
            for (var y = 0; y < K; y++)
            {
                g[(x * K) + y] = sum[gramAt + (x * K) + y] + (x == y ? hp.Lambda : 0);
            }
        }

        for (var x = 0; x < K; x++)
        {
            rhs[x] = s0[x];
            for (var y = 0; y < K; y++)
            {
                rhs[x] += g[(x * K) + y] * shared[y];
            }
        }

        var m = g.ToArray();
        for (var x = 0; x < K; x++)
        {
            m[(x * K) + x] += h0.Sum();
        }

        Kernels.SolveSpd(m, rhs, K);
        for (var x = 0; x < K; x++)
        {
            Assert.Equal(-rhs[x], direction[x], 10);
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void Federated_ials_at_a_tiny_epsilon_keeps_finite_distinct_scores(double prior)
    {
        var partition = UserPartition.Random(Split.UserCount, 4, 1);
        var hp = Planted.Hp with { PopularityPrior = prior };
        var settings = new FederationSettings { Rounds = 6, Unit = PrivacyUnit.User, ClipNorm = 5, DropoutRate = 0.25, Seed = 3 };
        var federation = new RankingFederation(new IalsModel(Split.ItemCount, hp), Split, partition, settings, new SecureRoundAggregator(new DpTarget(0.05, 1e-5, 6), 3, threads: 1));
        federation.Run();
        Assert.All(federation.Shared.ToArray(), v => Assert.True(double.IsFinite(v), $"{v}"));
        var scorer = federation.Export();
        var scores = new double[Split.ItemCount];
        for (var u = 0; u < Split.UserCount; u++)
        {
            scorer.Score(u, scores);
            Assert.All(scores, v => Assert.True(double.IsFinite(v), $"user {u}: {v}"));
            Assert.True(scores.Distinct().Count() > Split.ItemCount / 2, $"user {u}: {scores.Distinct().Count()} distinct scores");
        }
    }

    [Fact]
    public void Export_replaces_non_finite_factors_by_zero_so_the_prior_alone_scores_those_items()
    {
        var hp = Planted.Hp with { Factors = 2, PopularityPrior = 0.5 };
        var model = new IalsModel(3, hp);
        var shared = new double[model.SharedLength];
        double[] q = [1, 0, double.PositiveInfinity, 1, 0.5, double.NaN];
        q.CopyTo(shared, 0);
        double[] prior = [4, 2, 1];
        prior.CopyTo(shared, 3 * 2);
        var users = new LocalUsers([0], [[new Interaction(0, 1, 0, 0)]], 2, 3, personalize: false);
        users.State[0] = 2;
        users.State[1] = 1;
        var scores = new double[3];
        model.Export(shared, [users], 1).Score(0, scores);
        Assert.Equal([(0.5 * 4 / 4) + 2, 0.5 * 2 / 4, 0.5 * 1 / 4], scores);
    }

    [Fact]
    public void The_prior_block_is_each_users_normalised_indicator_and_accumulates_over_rounds()
    {
        var hp = Planted.Hp with { PopularityPrior = 1 };
        var model = new IalsModel(Split.ItemCount, hp);
        Assert.True(model.PriorOffset > 0);
        var users = new LocalUsers([0, 1], Split.Train, model.UserWidth, model.ItemCount, personalize: false);
        var shared = new double[model.SharedLength];
        using (var rng = Internal.Rng.ForPurpose(1, "prior-test"))
        {
            model.InitShared(shared, rng);
        }

        Assert.All(model.Prior(shared).ToArray(), b => Assert.Equal(0, b));
        model.Prepare(shared);
        var update = new double[model.UpdateRows * model.UpdateWidth];
        model.ComputeStatistics(shared, users, update);
        var expected = new double[Split.ItemCount];
        foreach (var u in new[] { 0, 1 })
        {
            foreach (var x in Split.Train[u])
            {
                expected[x.Item] += 1 / Math.Sqrt(Split.Train[u].Length);
            }
        }

        var block = update.AsSpan(model.PriorOffset, Split.ItemCount).ToArray();
        for (var i = 0; i < Split.ItemCount; i++)
        {
            Assert.Equal(expected[i], block[i], 12);
        }

        Assert.All(update.AsSpan(model.PriorOffset + Split.ItemCount).ToArray(), v => Assert.Equal(0, v));
        var direction = new double[model.SharedLength];
        for (var round = 1; round <= 2; round++)
        {
            model.Direction(shared, update, direction);
            for (var x = 0; x < shared.Length; x++)
            {
                shared[x] += direction[x];
            }

            var prior = model.Prior(shared).ToArray();
            for (var i = 0; i < Split.ItemCount; i++)
            {
                Assert.Equal(round * expected[i], prior[i], 12);
            }
        }
    }

    [Theory]
    [InlineData(PrivacyUnit.User, 0.5)]
    [InlineData(PrivacyUnit.User, 0.9)]
    [InlineData(PrivacyUnit.Institution, 0.5)]
    public void The_prior_block_gets_its_share_of_the_clip_norm_and_the_statistics_the_rest(PrivacyUnit unit, double share)
    {
        const double C = 2;
        var partition = UserPartition.Random(Split.UserCount, 3, 1);
        var recorder = new RecordingAggregator();
        var model = new IalsModel(Split.ItemCount, Planted.Hp with { PopularityPrior = 1 });
        var settings = new FederationSettings { Rounds = 1, Unit = unit, ClipNorm = C, PriorShare = share, DropoutRate = 0 };
        new RankingFederation(model, Split, partition, settings, recorder).Run();
        var width = model.UpdateWidth;
        for (var c = 0; c < 3; c++)
        {
            // Unpack the padded layout back to update rows.
            var rows = new double[model.UpdateRows * width];
            UpdatePacking.Unpack(recorder.Inputs[0][c], width, rows, Span<double>.Empty);
            var statistics = Math.Sqrt(rows.AsSpan(0, model.PriorOffset).ToArray().Sum(x => x * x));
            var prior = rows.AsSpan(model.PriorOffset).ToArray();
            var users = partition.UsersOf(c);
            var bound = unit == PrivacyUnit.User ? users.Count : 1;
            Assert.True(statistics <= bound * C * Math.Sqrt(1 - share) * (1 + 1e-9), $"client {c}: statistics norm {statistics}");
            if (unit == PrivacyUnit.User)
            {
                // Every user's block has norm 1 and is scaled to C·√φ exactly.
                for (var i = 0; i < Split.ItemCount; i++)
                {
                    var expected = users.Sum(u => Split.Train[u].Any(x => x.Item == i) ? C * Math.Sqrt(share) / Math.Sqrt(Split.Train[u].Length) : 0);
                    Assert.Equal(expected, prior[i], 10);
                }
            }
            else
            {
                Assert.Equal(C * Math.Sqrt(share), Math.Sqrt(prior.Sum(x => x * x)), 10);
            }
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void A_prior_share_outside_the_open_unit_interval_is_refused(double share)
    {
        var partition = UserPartition.Random(Split.UserCount, 3, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RankingFederation(new IalsModel(Split.ItemCount, Planted.Hp), Split, partition, new FederationSettings { PriorShare = share }, new RecordingAggregator()));
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.PositiveInfinity)]
    public void A_negative_or_infinite_prior_weight_is_refused(double weight) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new IalsModel(10, Planted.Hp with { PopularityPrior = weight }));
}
