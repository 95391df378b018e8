namespace SecureFedRec.Configuration;

/// <summary>
/// A settings section with rules beyond the per-value attributes (<see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/>,
/// <see cref="System.ComponentModel.DataAnnotations.AllowedValuesAttribute"/>, <see cref="System.ComponentModel.DataAnnotations.RequiredAttribute"/>):
/// rules that relate two settings, parse a structured value or look at the file system.
/// </summary>
public interface ISettingsRules
{
    /// <summary>
    /// Reports every broken rule through <paramref name="problems"/>; never stops at the first. <paramref name="path"/>
    /// is this section's full path (e.g. <c>Coordinator:Rounds</c>); name settings as <c>path + ":" + name</c>.
    /// </summary>
    void CheckRules(string path, SettingsProblems problems);
}
