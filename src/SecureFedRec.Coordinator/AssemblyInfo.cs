using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SecureFedRec.Integration.Tests")]
[assembly: InternalsVisibleTo("SecureFedRec.Attack.Tests")]
[assembly: InternalsVisibleTo("SecureFedRec.Wire.Tests")]
[assembly: InternalsVisibleTo("SecureFedRec.Dashboard.Tests")]
[assembly: CLSCompliant(false)]
