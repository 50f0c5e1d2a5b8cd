namespace Nylas.Core.Messages;

/// <summary>A name/address pair as the v2 API shows it in from/to/cc/bcc/reply_to.</summary>
public sealed record Participant(string Name, string Email);
