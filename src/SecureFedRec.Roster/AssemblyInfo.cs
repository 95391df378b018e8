using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SecureFedRec.Roster.Tests")]
[assembly: CLSCompliant(false)]
