using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Nylas.Testing.Linked;

/// <summary>
/// Compiled into each test assembly that handles mail (linked from its .csproj), so the legacy code pages are
/// registered when that assembly loads, before any test touches MimeKit: MimeKit caches a charset it could not
/// find, so otherwise whichever test ran first would decide whether a GB2312 subject decodes (it did, in CI).
/// </summary>
internal static class MimeCharsets
{
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "Has to run before the first MimeKit charset lookup.")]
    internal static void Register() => Nylas.Core.Messages.MimeEncodings.EnsureRegistered();
}
