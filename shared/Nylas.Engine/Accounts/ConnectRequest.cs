namespace Nylas.Engine.Accounts;

/// <summary>What an application asks for when it connects a mailbox.</summary>
public sealed record ConnectRequest(string EmailAddress, string Name, string Provider, ImapServer Imap, AccountSecrets Secrets, SmtpServer? Smtp = null);
