using System.Collections.ObjectModel;

namespace SecureFedRec.Privacy.Accounting;

/// <summary>
/// A Rényi-DP guarantee: for each order α in <see cref="Orders"/>, the mechanism is (α, ε(α))-RDP (Mironov 2017).
/// Immutable and thread-safe. Composition adds the curves order by order (Mironov 2017, Prop. 1);
/// <see cref="ToEpsilon"/> converts to (ε, δ)-DP with Canonne–Kamath–Steinke 2020, Prop. 12, exactly as Google's
/// <c>dp_accounting</c> does. Failure modes: <see cref="ArgumentException"/> for mismatched lengths, orders ≤ 1,
/// negative or NaN values, δ outside (0, 1). Order +∞ is allowed (its ε(∞) is a pure-DP bound).
/// </summary>
public sealed class RdpCurve
{
    private readonly double[] _orders;
    private readonly double[] _values;

    /// <summary>Creates a curve; <paramref name="values"/>[i] is ε(α) at <paramref name="orders"/>[i].</summary>
    public RdpCurve(IReadOnlyList<double> orders, IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(values);
        if (orders.Count == 0 || orders.Count != values.Count)
        {
            throw new ArgumentException("Orders and RDP values must be non-empty and of equal length.", nameof(values));
        }

        _orders = [.. orders];
        _values = [.. values];
        for (var i = 0; i < _orders.Length; i++)
        {
            if (!(_orders[i] > 1.0))
            {
                throw new ArgumentException($"RDP order must be > 1 (+∞ allowed); found {_orders[i]}.", nameof(orders));
            }

            if (double.IsNaN(_values[i]) || _values[i] < 0)
            {
                throw new ArgumentException($"RDP value must be ≥ 0; found {_values[i]} at order {_orders[i]}.", nameof(values));
            }
        }
    }

    /// <summary>The RDP orders α (all &gt; 1; +∞ allowed).</summary>
    public ReadOnlyCollection<double> Orders => Array.AsReadOnly(_orders);

    /// <summary>ε(α) at each order (may be +∞).</summary>
    public ReadOnlyCollection<double> Values => Array.AsReadOnly(_values);

    /// <summary>The curve of <paramref name="times"/> adaptive compositions of this mechanism.</summary>
    public RdpCurve Compose(int times)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(times);
        return new RdpCurve(_orders, [.. _values.Select(v => times == 0 ? 0 : v * times)]); // 0·∞ is 0 releases, not NaN
    }

    /// <summary>The curve of running this mechanism and then <paramref name="other"/> (same orders required).</summary>
    public RdpCurve Plus(RdpCurve other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!_orders.AsSpan().SequenceEqual(other._orders))
        {
            throw new ArgumentException("Curves over different orders cannot be composed.", nameof(other));
        }

        var sum = new double[_values.Length];
        for (var i = 0; i < sum.Length; i++)
        {
            sum[i] = _values[i] + other._values[i];
        }

        return new RdpCurve(_orders, sum);
    }

    /// <summary>
    /// (ε, δ) conversion: ε = min over α of [ r(α) + log1p(−1/α) − log(δ·α)/(α − 1) ] clamped at 0 (Canonne, Kamath,
    /// Steinke 2020, Prop. 12), with the KL shortcut ε = 0 when δ² + expm1(−r) &gt; 0 and orders α ≤ 1.01 skipped as in
    /// <c>dp_accounting</c>. Returns the optimal order too.
    /// </summary>
    public EpsilonAtOrder ToEpsilon(double delta)
    {
        if (!(delta > 0 && delta < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "δ must be in (0, 1).");
        }

        var best = double.PositiveInfinity;
        var bestOrder = _orders[0];
        for (var i = 0; i < _orders.Length; i++)
        {
            var a = _orders[i];
            var r = _values[i];
            double eps;
            if ((delta * delta) + Internal.LogMath.ExpM1(-r) > 0)
            {
                eps = 0;
            }
            else if (double.IsPositiveInfinity(a))
            {
                eps = r; // the limit of the bound as α → ∞: log1p(−1/α) → 0 and log(δα)/(α − 1) → 0 (pure ε-DP)
            }
            else if (a > 1.01)
            {
                eps = r + Internal.LogMath.Log1P(-1.0 / a) - (Math.Log(delta * a) / (a - 1));
            }
            else
            {
                eps = double.PositiveInfinity;
            }

            if (eps < best)
            {
                best = eps;
                bestOrder = a;
            }
        }

        return new EpsilonAtOrder(Math.Max(0, best), bestOrder);
    }
}

/// <summary>An (ε, δ) conversion result: ε and the RDP order that attains it.</summary>
/// <param name="Epsilon">ε ≥ 0 (may be +∞ when every order is infinite).</param>
/// <param name="Order">The optimal RDP order.</param>
public readonly record struct EpsilonAtOrder(double Epsilon, double Order);
