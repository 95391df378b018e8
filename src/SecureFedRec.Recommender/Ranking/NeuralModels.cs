using SecureFedRec.Recommender.Internal;

namespace SecureFedRec.Recommender.Ranking;

/// <summary>
/// A two-tower neural recommender (Yi et al., RecSys 2019, "Sampling-bias-corrected neural modeling"; towers as
/// residual MLPs): v_i = e_i + W₂·relu(W₁·e_i + b₁) + b₂ for items, u = p_u + U₂·relu(U₁·p_u + c₁) + c₂ for users,
/// s(u, i) = ⟨u, v_i⟩ + b_i, trained with the BPR loss and uniformly sampled negatives. Shared (aggregated): item
/// embeddings and biases [e_i (k), b_i] and both towers' dense weights (packed into rows of width k + 1 after the
/// items); private: the user embedding p_u. Size I·(k + 1) + 2·(2hk + h + k): with the 9,742 items of
/// ml-latest-small, k = 128 and h = 64 that is 1.29 M shared parameters. The two-tower form (not NeuMF's MLP over the
/// concatenation) keeps full-catalogue ranking at one dot product per item once the item tower has run.
/// </summary>
internal sealed class TwoTowerModel : RankingModel
{
    private readonly int towerLength;

    public TwoTowerModel(int items, RankingHyperparameters hp)
        : base(items, hp)
    {
        var k = hp.Factors;
        var h = hp.Hidden;
        towerLength = (2 * h * k) + h + k;
        DenseRows = ((2 * towerLength) + k) / (k + 1);
    }

    public override string Name => "two-tower";

    public override int RowWidth => Hp.Factors + 1;

    public override int DenseRows { get; }

    public override int UserWidth => Hp.Factors;

    /// <summary>Parameters of the shared side: I·(k + 1) + 2·(2hk + h + k) (padding to whole rows not counted).</summary>
    public long ParameterCount => ((long)ItemCount * RowWidth) + (2L * towerLength);

    private int TowerOffset(bool user) => (ItemCount * RowWidth) + (user ? towerLength : 0);

    public override void InitShared(Span<double> shared, Rng rng)
    {
        var k = Hp.Factors;
        var h = Hp.Hidden;
        shared.Clear();
        for (var i = 0; i < ItemCount; i++)
        {
            for (var f = 0; f < k; f++)
            {
                shared[(i * (k + 1)) + f] = rng.NextGaussian() * Hp.InitStdDev;
            }
        }

        foreach (var user in new[] { false, true })
        {
            var t = shared.Slice(TowerOffset(user), towerLength);
            var w1 = Math.Sqrt(2.0 / k);
            for (var x = 0; x < h * k; x++)
            {
                t[x] = rng.NextGaussian() * w1;
            }

            var w2 = t.Slice((h * k) + h, k * h);
            for (var x = 0; x < w2.Length; x++)
            {
                w2[x] = rng.NextGaussian() * 0.01;
            }
        }
    }

    /// <summary>y = x + W₂ relu(W₁x + b₁) + b₂; keeps the pre-activation a and activation r for the backward pass.</summary>
    private void Forward(ReadOnlySpan<double> tower, ReadOnlySpan<double> x, Span<double> a, Span<double> r, Span<double> y)
    {
        var k = Hp.Factors;
        var h = Hp.Hidden;
        for (var o = 0; o < h; o++)
        {
            a[o] = Kernels.Dot(tower.Slice(o * k, k), x) + tower[(h * k) + o];
            r[o] = a[o] > 0 ? a[o] : 0;
        }

        var w2 = tower.Slice((h * k) + h, k * h);
        var b2 = tower.Slice((2 * h * k) + h, k);
        for (var c = 0; c < k; c++)
        {
            y[c] = x[c] + Kernels.Dot(w2.Slice(c * h, h), r) + b2[c];
        }
    }

    /// <summary>Ascent step on the tower from dObj/dy; writes dObj/dx into <paramref name="dx"/>.</summary>
    private void Backward(Span<double> tower, ReadOnlySpan<double> x, ReadOnlySpan<double> a, ReadOnlySpan<double> r, ReadOnlySpan<double> dy, Span<double> da, Span<double> dx, double lr)
    {
        var k = Hp.Factors;
        var h = Hp.Hidden;
        var w2 = tower.Slice((h * k) + h, k * h);
        da.Clear();
        for (var c = 0; c < k; c++)
        {
            Kernels.Axpy(dy[c], w2.Slice(c * h, h), da);
        }

        for (var o = 0; o < h; o++)
        {
            if (a[o] <= 0)
            {
                da[o] = 0;
            }
        }

        dy.CopyTo(dx);
        for (var o = 0; o < h; o++)
        {
            if (da[o] != 0)
            {
                Kernels.Axpy(da[o], tower.Slice(o * k, k), dx);
            }
        }

        for (var c = 0; c < k; c++)
        {
            Kernels.Axpy(lr * dy[c], r, w2.Slice(c * h, h));
        }

        Kernels.Axpy(lr, dy, tower.Slice((2 * h * k) + h, k));
        for (var o = 0; o < h; o++)
        {
            if (da[o] != 0)
            {
                Kernels.Axpy(lr * da[o], x, tower.Slice(o * k, k));
                tower[(h * k) + o] += lr * da[o];
            }
        }
    }

    public override void TrainLocal(Span<double> shared, LocalUsers users, int epochs, Rng rng, int[]? rowUsers)
    {
        CheckNegatives(users, ItemCount);
        var k = Hp.Factors;
        var h = Hp.Hidden;
        var w = k + 1;
        var lr = Hp.LearningRate;
        var reg = Hp.Regularization;
        var tlr = Hp.TowerLearningRate;
        var offset = users.ItemOffset;
        var itemTower = shared.Slice(TowerOffset(false), towerLength);
        var userTower = shared.Slice(TowerOffset(true), towerLength);
        var order = new List<(int, int)>(users.InteractionCount);
        for (var l = 0; l < users.Count; l++)
        {
            foreach (var i in users.Items[l])
            {
                order.Add((l, i));
            }
        }

        var pairs = order.ToArray();
        var mark = rowUsers is null ? null : new HashSet<long>();
        var buf = new double[(12 * k) + (7 * h)];
        var s = buf.AsSpan();
        Span<double> yu = s.Slice(0, k), yi = s.Slice(k, k), yj = s.Slice(2 * k, k), dyu = s.Slice(3 * k, k), dyi = s.Slice(4 * k, k), dyj = s.Slice(5 * k, k);
        Span<double> dxu = s.Slice(6 * k, k), dxi = s.Slice(7 * k, k), dxj = s.Slice(8 * k, k), diff = s.Slice(9 * k, k), xi = s.Slice(10 * k, k), xj = s.Slice(11 * k, k);
        var hb = s[(12 * k)..];
        Span<double> au = hb.Slice(0, h), ru = hb.Slice(h, h), ai = hb.Slice(2 * h, h), ri = hb.Slice(3 * h, h), aj = hb.Slice(4 * h, h), rj = hb.Slice(5 * h, h), da = hb.Slice(6 * h, h);
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            rng.Shuffle(pairs.AsSpan());
            foreach (var (l, i) in pairs)
            {
                var j = SampleNegative(rng, users.Seen[l], ItemCount);
                var p = users.State.AsSpan(l * k, k);
                shared.Slice(i * w, k).CopyTo(xi);
                shared.Slice(j * w, k).CopyTo(xj);
                Forward(userTower, p, au, ru, yu);
                Forward(itemTower, xi, ai, ri, yi);
                Forward(itemTower, xj, aj, rj, yj);
                for (var f = 0; f < k; f++)
                {
                    diff[f] = yi[f] - yj[f];
                }

                var x = Kernels.Dot(yu, diff) + shared[(i * w) + k] - shared[(j * w) + k];
                if (offset is not null)
                {
                    x += offset[i] - offset[j];
                }

                var g = 1 / (1 + Math.Exp(Math.Clamp(x, -30, 30)));
                for (var f = 0; f < k; f++)
                {
                    dyu[f] = g * diff[f];
                    dyi[f] = g * yu[f];
                    dyj[f] = -g * yu[f];
                }

                Backward(userTower, p, au, ru, dyu, da, dxu, tlr);
                Backward(itemTower, xi, ai, ri, dyi, da, dxi, tlr);
                Backward(itemTower, xj, aj, rj, dyj, da, dxj, tlr);
                Kernels.Scale(1 - (lr * reg), p);
                Kernels.Axpy(lr, dxu, p);
                var ei = shared.Slice(i * w, k);
                Kernels.Scale(1 - (lr * reg), ei);
                Kernels.Axpy(lr, dxi, ei);
                var ej = shared.Slice(j * w, k);
                Kernels.Scale(1 - (lr * reg), ej);
                Kernels.Axpy(lr, dxj, ej);
                shared[(i * w) + k] += lr * (g - (reg * shared[(i * w) + k]));
                shared[(j * w) + k] += lr * (-g - (reg * shared[(j * w) + k]));
                if (offset is not null)
                {
                    offset[i] += Hp.OffsetLearningRate * (g - (Hp.OffsetRegularization * offset[i]));
                    offset[j] += Hp.OffsetLearningRate * (-g - (Hp.OffsetRegularization * offset[j]));
                }

                if (mark is not null)
                {
                    BprModel.Touch(mark, rowUsers!, i, l);
                    BprModel.Touch(mark, rowUsers!, j, l);
                }
            }
        }

        if (rowUsers is not null)
        {
            for (var row = ItemCount; row < ItemCount + DenseRows; row++)
            {
                rowUsers[row] = users.Count;
            }
        }
    }

    public override FactorScorer Export(ReadOnlySpan<double> shared, IReadOnlyList<LocalUsers> parties, int userCount)
    {
        var k = Hp.Factors;
        var h = Hp.Hidden;
        var scorer = new FactorScorer(userCount, ItemCount, k);
        var a = new double[h];
        var r = new double[h];
        var itemTower = shared.Slice(TowerOffset(false), towerLength);
        var userTower = shared.Slice(TowerOffset(true), towerLength);
        for (var i = 0; i < ItemCount; i++)
        {
            Forward(itemTower, shared.Slice(i * (k + 1), k), a, r, scorer.ItemVectors.AsSpan(i * k, k));
            scorer.ItemBias[i] = shared[(i * (k + 1)) + k];
        }

        foreach (var party in parties)
        {
            for (var l = 0; l < party.Count; l++)
            {
                Forward(userTower, party.State.AsSpan(l * k, k), a, r, scorer.UserVectors.AsSpan(party.Users[l] * k, k));
                scorer.OffsetOfUser[party.Users[l]] = party.ItemOffset;
            }
        }

        return scorer;
    }
}

/// <summary>
/// Implicit ALS (Hu, Koren, Volinsky, ICDM 2008): minimise Σ_{u,i} c_ui (x_ui − ⟨p_u, q_i⟩)² + λ(‖P‖² + ‖Q‖²) with
/// x = 1 on interactions (c = 1 + α·w) and 0 elsewhere (c = 1). Centrally: exact alternating solves. Federated (the
/// FCF form, Ammad-ud-din et al. 2019, with a Newton-type server step): each party solves its users' p_u exactly
/// from the global Q (they never leave it) and sends, dense over the catalogue, per item i the gradient part
/// s_i = Σ_u [(c_ui − 1)⟨p_u, q_i⟩ − c_ui] p_u and the curvature diagonal h_i = Σ_u (c_ui − 1) p_u∘p_u (sums over
/// its users who interacted with i), plus its Gram G_c = Σ_u p_u p_uᵀ. The server forms the exact gradient
/// g_i = (G + λI) q_i + s_i and steps q_i ← q_i − (G + λI + diag h_i)⁻¹ g_i, whose fixed point is the ALS item solve.
/// Shared rows: q_i (k); update rows [s_i, h_i] (2k) then G in rows of 2k.
/// <para>
/// A noised (DP) sum can make the summed Gram indefinite: the server projects it to the nearest positive
/// semidefinite matrix (eigenvalue floor 0, <see cref="Kernels.ProjectToEigenvalueFloor"/>) before adding λI and uses
/// that one matrix in both the gradient and the preconditioner, so every item solve is well posed (eigenvalues ≥ λ)
/// and one step maps q_i to (M_i)⁻¹(tr(h_i)·q_i − s_i): it cannot amplify q_i, whatever the noise.
/// </para>
/// <para>
/// With <see cref="RankingHyperparameters.PopularityPrior"/> β &gt; 0 the update also carries a prior block
/// (⌈I/2k⌉ rows after the Gram): each user adds the indicator of its items (its latest
/// <see cref="RankingHyperparameters.PriorWindow"/> ones when set) divided by √(their count) (norm 1; the
/// trainer clips the block apart from the statistics, so under DP it has its own share of the clip norm), the shared
/// side keeps the running sum b over rounds in ⌈I/k⌉ dense rows after the item factors, and the score is
/// β·b_i / max_j b_j + ⟨p_u, q_i⟩. Only scale-free use of b is made, so the server learning rate does not matter.
/// </para>
/// </summary>
internal sealed class IalsModel(int items, RankingHyperparameters hp) : RankingModel(items, hp)
{
    private double[]? gram;

    /// <summary>Server preconditioner: true = G + λI + tr(S_i)·I (majorizes the Hessian: monotone, slower); false = Jacobi G + λI + diag(S_i).</summary>
    public bool Majorize { get; init; } = true;

    public override string Name => "iALS";

    public override int RowWidth => Hp.Factors;

    public override int UserWidth => Hp.Factors;

    public override bool IsDeltaModel => false;

    public override int UpdateWidth => 2 * Hp.Factors;

    public override int UpdateRows => ItemCount + GramRows + PriorRows;

    public override int DenseRows => HasPrior ? (ItemCount + Hp.Factors - 1) / Hp.Factors : 0;

    public override int PriorOffset => HasPrior ? (ItemCount + GramRows) * UpdateWidth : -1;

    private bool HasPrior => Hp.PopularityPrior > 0;

    private int GramRows => (Hp.Factors + 1) / 2;

    private int PriorRows => HasPrior ? (ItemCount + UpdateWidth - 1) / UpdateWidth : 0;

    public override void InitShared(Span<double> shared, Rng rng)
    {
        var factors = ItemCount * Hp.Factors;
        for (var x = 0; x < factors; x++)
        {
            shared[x] = rng.NextGaussian() * Hp.InitStdDev;
        }

        shared[factors..].Clear();
    }

    /// <summary>The prior's running sums b_i (empty without a prior).</summary>
    public ReadOnlySpan<double> Prior(ReadOnlySpan<double> shared) => HasPrior ? shared.Slice(ItemCount * Hp.Factors, ItemCount) : [];

    /// <summary>Caches QᵀQ for the current global Q (call once per round before <see cref="ComputeStatistics"/>).</summary>
    public void Prepare(ReadOnlySpan<double> shared) => gram = Gram(shared, ItemCount, Hp.Factors);

    private static double[] Gram(ReadOnlySpan<double> rows, int count, int k)
    {
        var g = new double[k * k];
        for (var r = 0; r < count; r++)
        {
            var q = rows.Slice(r * k, k);
            for (var a = 0; a < k; a++)
            {
                if (q[a] != 0)
                {
                    Kernels.Axpy(q[a], q, g.AsSpan(a * k, k));
                }
            }
        }

        return g;
    }

    /// <summary>p = (G + Σ (c − 1) q qᵀ + λI)⁻¹ Σ c q over the user's items.</summary>
    private void SolveUser(ReadOnlySpan<double> q, ReadOnlySpan<double> g, int[] items, float[] weights, Span<double> p, double[] a)
    {
        var k = Hp.Factors;
        g.CopyTo(a);
        p.Clear();
        for (var n = 0; n < items.Length; n++)
        {
            var c = 1 + (Hp.Alpha * weights[n]);
            var qi = q.Slice(items[n] * k, k);
            for (var x = 0; x < k; x++)
            {
                if (qi[x] != 0)
                {
                    Kernels.Axpy((c - 1) * qi[x], qi, a.AsSpan(x * k, k));
                }
            }

            Kernels.Axpy(c, qi, p);
        }

        for (var x = 0; x < k; x++)
        {
            a[(x * k) + x] += Hp.Lambda;
        }

        Kernels.SolveSpd(a, p, k, Hp.Lambda);
        ClearIfNotFinite(p);
    }

    /// <summary>A vector with a non-finite entry is replaced by zeros (its scores then come from the prior alone).</summary>
    private static void ClearIfNotFinite(Span<double> v)
    {
        foreach (var x in v)
        {
            if (!double.IsFinite(x))
            {
                v.Clear();
                return;
            }
        }
    }

    public void RefreshUsers(ReadOnlySpan<double> shared, LocalUsers users)
    {
        var k = Hp.Factors;
        var g = gram ?? Gram(shared, ItemCount, k);
        var a = new double[k * k];
        for (var l = 0; l < users.Count; l++)
        {
            SolveUser(shared, g, users.Items[l], users.Weights[l], users.State.AsSpan(l * k, k), a);
        }
    }

    public override void TrainLocal(Span<double> shared, LocalUsers users, int epochs, Rng rng, int[]? rowUsers) =>
        throw new NotSupportedException("iALS sends statistics, not a locally trained delta");

    public override void TrainCentral(Span<double> shared, LocalUsers all, int epochs, Rng rng)
    {
        var k = Hp.Factors;
        var usersOfItem = new List<(int Local, float Weight)>[ItemCount];
        for (var i = 0; i < ItemCount; i++)
        {
            usersOfItem[i] = [];
        }

        for (var l = 0; l < all.Count; l++)
        {
            for (var n = 0; n < all.Items[l].Length; n++)
            {
                usersOfItem[all.Items[l][n]].Add((l, all.Weights[l][n]));
            }
        }

        var itemLists = usersOfItem.Select(x => x.Select(y => y.Local).ToArray()).ToArray();
        var itemWeights = usersOfItem.Select(x => x.Select(y => y.Weight).ToArray()).ToArray();
        var a = new double[k * k];
        for (var it = 0; it < epochs; it++)
        {
            gram = null;
            RefreshUsers(shared, all);
            var g = Gram(all.State, all.Count, k);
            for (var i = 0; i < ItemCount; i++)
            {
                SolveUser(all.State, g, itemLists[i], itemWeights[i], shared.Slice(i * k, k), a);
            }
        }

        gram = null;
        RefreshUsers(shared, all);
    }

    public override void ComputeStatistics(ReadOnlySpan<double> shared, LocalUsers users, Span<double> update)
    {
        var k = Hp.Factors;
        var g = gram ?? Gram(shared, ItemCount, k);
        var a = new double[k * k];
        var w = 2 * k;
        var dense = update[(ItemCount * w)..];
        for (var l = 0; l < users.Count; l++)
        {
            var p = users.State.AsSpan(l * k, k);
            SolveUser(shared, g, users.Items[l], users.Weights[l], p, a);
            for (var x = 0; x < k; x++)
            {
                Kernels.Axpy(p[x], p, dense.Slice(x * k, k));
            }

            for (var n = 0; n < users.Items[l].Length; n++)
            {
                var i = users.Items[l][n];
                var c = 1 + (Hp.Alpha * users.Weights[l][n]);
                var qi = shared.Slice(i * k, k);
                var row = update.Slice(i * w, w);
                Kernels.Axpy(((c - 1) * Kernels.Dot(p, qi)) - c, p, row[..k]);
                for (var x = 0; x < k; x++)
                {
                    row[k + x] += (c - 1) * p[x] * p[x];
                }
            }

            if (HasPrior && users.Items[l].Length > 0)
            {
                // The user's most recent items (training items are in time order), each 1/√(their count): norm 1.
                var items = users.Items[l].AsSpan();
                if (Hp.PriorWindow > 0 && items.Length > Hp.PriorWindow)
                {
                    items = items[^Hp.PriorWindow..];
                }

                var prior = update.Slice(PriorOffset, ItemCount);
                var share = 1 / Math.Sqrt(items.Length);
                foreach (var i in items)
                {
                    prior[i] += share;
                }
            }
        }
    }

    public override void Direction(ReadOnlySpan<double> shared, ReadOnlySpan<double> sum, Span<double> direction)
    {
        var k = Hp.Factors;
        var w = 2 * k;
        var g = sum.Slice(ItemCount * w, k * k).ToArray();

        // A noised Gram (DP) may be indefinite: project it to the nearest PSD matrix, then add the ridge, and use
        // the same matrix in the gradient and the preconditioner (see the type's remarks).
        Kernels.ProjectToEigenvalueFloor(g, k, 0);
        for (var x = 0; x < k; x++)
        {
            g[(x * k) + x] += Hp.Lambda;
        }

        var m2 = new double[k * k];
        var rhs = new double[k];
        for (var i = 0; i < ItemCount; i++)
        {
            var q = shared.Slice(i * k, k);
            var row = sum.Slice(i * w, w);
            for (var x = 0; x < k; x++)
            {
                rhs[x] = Kernels.Dot(g.AsSpan(x * k, k), q) + (double.IsFinite(row[x]) ? row[x] : 0);
            }

            g.CopyTo(m2, 0);
            var trace = 0.0;
            for (var x = 0; x < k; x++)
            {
                trace += Curvature(row[k + x]);
            }

            for (var x = 0; x < k; x++)
            {
                m2[(x * k) + x] += Majorize ? trace : Curvature(row[k + x]);
            }

            Kernels.SolveSpd(m2, rhs, k, Hp.Lambda);
            ClearIfNotFinite(rhs);
            for (var x = 0; x < k; x++)
            {
                direction[(i * k) + x] = -rhs[x];
            }
        }

        if (HasPrior)
        {
            // The prior accumulates: b ← b + this round's (noised) popularity sum.
            var prior = sum.Slice(PriorOffset, ItemCount);
            var target = direction.Slice(ItemCount * k, ItemCount);
            for (var i = 0; i < ItemCount; i++)
            {
                target[i] = double.IsFinite(prior[i]) ? prior[i] : 0;
            }
        }
    }

    /// <summary>A curvature coordinate is a sum of squares: noise can make it negative, never the true value.</summary>
    private static double Curvature(double h) => double.IsFinite(h) ? Math.Max(0, h) : 0;

    public override FactorScorer Export(ReadOnlySpan<double> shared, IReadOnlyList<LocalUsers> parties, int userCount)
    {
        var k = Hp.Factors;
        var scorer = new FactorScorer(userCount, ItemCount, k);
        shared[..(ItemCount * k)].CopyTo(scorer.ItemVectors);
        for (var i = 0; i < ItemCount; i++)
        {
            ClearIfNotFinite(scorer.ItemVectors.AsSpan(i * k, k));
        }

        var prior = Prior(shared);
        var top = 0.0;
        foreach (var b in prior)
        {
            top = double.IsFinite(b) ? Math.Max(top, b) : top;
        }

        if (top > 0)
        {
            for (var i = 0; i < ItemCount; i++)
            {
                scorer.ItemBias[i] = double.IsFinite(prior[i]) ? Hp.PopularityPrior * prior[i] / top : 0;
            }
        }

        foreach (var party in parties)
        {
            for (var l = 0; l < party.Count; l++)
            {
                var p = scorer.UserVectors.AsSpan(party.Users[l] * k, k);
                party.State.AsSpan(l * k, k).CopyTo(p);
                ClearIfNotFinite(p);
                scorer.OffsetOfUser[party.Users[l]] = party.ItemOffset;
            }
        }

        return scorer;
    }
}
