using System.Text;

namespace SecureFedRec.PublicApi.Tests;

/// <summary>A small line diff (longest common subsequence) rendered as hunks with context, for the API baseline test.</summary>
internal static class LineDiff
{
    public static string Render(IReadOnlyList<string> before, IReadOnlyList<string> after, int context)
    {
        // Trim the common prefix and suffix first: API changes are local, so the LCS table stays small.
        var prefix = 0;
        while (prefix < before.Count && prefix < after.Count && before[prefix] == after[prefix])
        {
            prefix++;
        }

        var suffix = 0;
        while (suffix < before.Count - prefix && suffix < after.Count - prefix
               && before[before.Count - 1 - suffix] == after[after.Count - 1 - suffix])
        {
            suffix++;
        }

        int n = before.Count - prefix - suffix, m = after.Count - prefix - suffix;
        var lcs = new int[n + 1, m + 1];
        for (var i = n - 1; i >= 0; i--)
        {
            for (var j = m - 1; j >= 0; j--)
            {
                lcs[i, j] = before[prefix + i] == after[prefix + j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        // Edit script over the whole text: ' ' kept, '-' removed, '+' added; with the line number in the baseline.
        var script = new List<(char Op, string Line, int BeforeLine)>();
        for (var k = 0; k < prefix; k++)
        {
            script.Add((' ', before[k], k + 1));
        }

        int a = 0, b = 0;
        while (a < n || b < m)
        {
            if (a < n && b < m && before[prefix + a] == after[prefix + b])
            {
                script.Add((' ', before[prefix + a], prefix + a + 1));
                a++;
                b++;
            }
            else if (a < n && (b == m || lcs[a + 1, b] >= lcs[a, b + 1]))
            {
                script.Add(('-', before[prefix + a], prefix + a + 1));
                a++;
            }
            else
            {
                script.Add(('+', after[prefix + b], prefix + a + 1));
                b++;
            }
        }

        for (var k = before.Count - suffix; k < before.Count; k++)
        {
            script.Add((' ', before[k], k + 1));
        }

        var text = new StringBuilder();
        var lastPrinted = -1;
        for (var i = 0; i < script.Count; i++)
        {
            if (script[i].Op == ' ')
            {
                continue;
            }

            var from = Math.Max(lastPrinted + 1, i - context);
            if (from > lastPrinted + 1 || lastPrinted < 0)
            {
                text.Append("@@ baseline line ").Append(script[from].BeforeLine).Append('\n');
            }

            var to = i;
            // Extend the hunk while changes follow within 2 × context lines.
            for (var k = i; k < script.Count && k <= to + (2 * context); k++)
            {
                if (script[k].Op != ' ')
                {
                    to = k;
                }
            }

            to = Math.Min(script.Count - 1, to + context);
            for (var k = from; k <= to; k++)
            {
                text.Append(script[k].Op).Append(' ').Append(script[k].Line).Append('\n');
            }

            lastPrinted = to;
            i = to;
        }

        return text.ToString();
    }
}
