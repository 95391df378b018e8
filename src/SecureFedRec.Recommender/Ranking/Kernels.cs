using System.Numerics;
using System.Runtime.InteropServices;

namespace SecureFedRec.Recommender.Ranking;

/// <summary>SIMD span kernels (Vector&lt;double&gt;) for the ranking models' inner loops. Pure; thread-safe.</summary>
internal static class Kernels
{
    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var n = a.Length;
        var i = 0;
        var acc = Vector<double>.Zero;
        if (Vector.IsHardwareAccelerated && n >= Vector<double>.Count)
        {
            var va = MemoryMarshal.Cast<double, Vector<double>>(a);
            var vb = MemoryMarshal.Cast<double, Vector<double>>(b[..n]);
            for (var v = 0; v < va.Length; v++)
            {
                acc += va[v] * vb[v];
            }

            i = va.Length * Vector<double>.Count;
        }

        var sum = Vector.Sum(acc);
        for (; i < n; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>y += α·x.</summary>
    public static void Axpy(double alpha, ReadOnlySpan<double> x, Span<double> y)
    {
        var n = x.Length;
        var i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<double>.Count)
        {
            var vx = MemoryMarshal.Cast<double, Vector<double>>(x);
            var vy = MemoryMarshal.Cast<double, Vector<double>>(y[..n]);
            var va = new Vector<double>(alpha);
            for (var v = 0; v < vx.Length; v++)
            {
                vy[v] += va * vx[v];
            }

            i = vx.Length * Vector<double>.Count;
        }

        for (; i < n; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    /// <summary>y = β·y + α·x.</summary>
    public static void Scale(double beta, Span<double> y)
    {
        for (var i = 0; i < y.Length; i++)
        {
            y[i] *= beta;
        }
    }

    public static double NormSquared(ReadOnlySpan<double> x) => Dot(x, x);

    /// <summary>
    /// Solves A x = b in place for symmetric positive definite A (n × n, row-major; destroyed) by Cholesky. Every
    /// squared pivot is clamped to at least <paramref name="minPivot"/>: for A ⪰ λI the pivots are ≥ λ anyway, so
    /// passing λ changes nothing for an exact A and keeps a noised (DP) A from blowing up.
    /// </summary>
    public static void SolveSpd(Span<double> a, Span<double> b, int n, double minPivot = 1e-12)
    {
        for (var j = 0; j < n; j++)
        {
            var d = a[(j * n) + j];
            for (var k = 0; k < j; k++)
            {
                d -= a[(j * n) + k] * a[(j * n) + k];
            }

            d = Math.Sqrt(Math.Max(d, minPivot));
            a[(j * n) + j] = d;
            for (var i = j + 1; i < n; i++)
            {
                var s = a[(i * n) + j] - Dot(a.Slice(i * n, j), a.Slice(j * n, j));
                a[(i * n) + j] = s / d;
            }
        }

        for (var i = 0; i < n; i++)
        {
            b[i] = (b[i] - Dot(a.Slice(i * n, i), b[..i])) / a[(i * n) + i];
        }

        for (var i = n - 1; i >= 0; i--)
        {
            var s = b[i];
            for (var k = i + 1; k < n; k++)
            {
                s -= a[(k * n) + i] * b[k];
            }

            b[i] = s / a[(i * n) + i];
        }
    }
}
