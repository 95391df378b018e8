using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SecureFedRec.Bench;

/// <summary>Renders a <see cref="CryptoBenchReport"/> as a text table and as JSON (the same figures).</summary>
public static class CryptoBenchFormat
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>A fixed-width table with the ratio column.</summary>
    public static string Table(CryptoBenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"openssl: {report.OpenSslVersion}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"AES backend: {report.AesBackend}; logical CPUs: {report.ProcessorCount}; one thread; rates per CPU second (as openssl speed); load average {report.LoadAverage}");
        if (!report.JitOptimized)
        {
            sb.AppendLine("WARNING: the crypto assembly is not optimised (Debug build); run with -c Release for meaningful figures.");
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"{"measurement",-44} {"project",14} {"openssl",14} {"ratio",7}  unit");
        foreach (CryptoBenchRow row in report.Rows)
        {
            string floor = row.Floor is double f ? Fmt(f) : row.Counterpart is null ? "-" : "unavailable";
            string ratio = row.Ratio is double r ? r.ToString("0.00", CultureInfo.InvariantCulture) : "-";
            sb.AppendLine(CultureInfo.InvariantCulture, $"{row.Name,-44} {Fmt(row.Value),14} {floor,14} {ratio,7}  {row.Unit}");
        }

        return sb.ToString();
    }

    /// <summary>The same figures as JSON.</summary>
    public static string Json(CryptoBenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var payload = new
        {
            benchmark = "crypto",
            openssl = report.OpenSslVersion,
            aesBackend = report.AesBackend,
            jitOptimized = report.JitOptimized,
            processorCount = report.ProcessorCount,
            loadAverage = report.LoadAverage,
            rows = report.Rows.Select(r => new
            {
                name = r.Name,
                unit = r.Unit,
                value = r.Value,
                openssl = r.Floor,
                ratio = r.Ratio,
                opensslCommand = r.FloorSource,
                opensslCounterpart = r.Counterpart,
                note = r.Note,
            }),
        };
        return JsonSerializer.Serialize(payload, Indented);
    }

    private static string Fmt(double v) => v >= 100 ? v.ToString("N0", CultureInfo.InvariantCulture) : v.ToString("0.000", CultureInfo.InvariantCulture);
}
