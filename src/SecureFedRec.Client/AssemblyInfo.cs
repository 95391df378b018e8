using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SecureFedRec.Integration.Tests")]
[assembly: InternalsVisibleTo("SecureFedRec.Attack.Tests")]
[assembly: CLSCompliant(false)]
