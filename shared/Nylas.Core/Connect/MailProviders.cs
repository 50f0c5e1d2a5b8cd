namespace Nylas.Core.Connect;

/// <summary>How a connection to a mail server is secured: TLS from the first byte, STARTTLS, or none.</summary>
public enum MailSecurity { Ssl, StartTls, None }

/// <summary>A mail server endpoint (no credentials).</summary>
public sealed record MailEndpoint(string Host, int Port, MailSecurity Security);

/// <summary>A provider's IMAP and SMTP servers, and the OAuth2 token endpoint its refresh tokens are redeemed at.</summary>
public sealed record MailProvider(string Name, MailEndpoint Imap, MailEndpoint Smtp, string? OAuthTokenUrl = null);

/// <summary>
/// The built-in table of major providers, looked up by provider name, by email domain, or by the host
/// names of a domain's MX records (a custom domain hosted by Google or Microsoft). Pure: the DNS
/// lookup itself lives in the engine.
/// </summary>
public static class MailProviders
{
    public const string GoogleTokenUrl = "https://oauth2.googleapis.com/token";
    public const string MicrosoftTokenUrl = "https://login.microsoftonline.com/common/oauth2/v2.0/token";

    private static MailProvider P(string name, string imap, string smtp, int smtpPort = 465, string? tokenUrl = null)
        => new(name, new MailEndpoint(imap, 993, MailSecurity.Ssl),
            new MailEndpoint(smtp, smtpPort, smtpPort == 465 ? MailSecurity.Ssl : MailSecurity.StartTls), tokenUrl);

    public static readonly MailProvider Gmail = P("gmail", "imap.gmail.com", "smtp.gmail.com", 465, GoogleTokenUrl);
    public static readonly MailProvider Outlook = P("outlook", "outlook.office365.com", "smtp-mail.outlook.com", 587, MicrosoftTokenUrl);
    public static readonly MailProvider Office365 = P("office365", "outlook.office365.com", "smtp.office365.com", 587, MicrosoftTokenUrl);
    public static readonly MailProvider Yahoo = P("yahoo", "imap.mail.yahoo.com", "smtp.mail.yahoo.com");
    public static readonly MailProvider ICloud = P("icloud", "imap.mail.me.com", "smtp.mail.me.com", 587);
    public static readonly MailProvider Aol = P("aol", "imap.aol.com", "smtp.aol.com");
    public static readonly MailProvider Fastmail = P("fastmail", "imap.fastmail.com", "smtp.fastmail.com");
    public static readonly MailProvider Zoho = P("zoho", "imap.zoho.com", "smtp.zoho.com");
    public static readonly MailProvider ZohoEu = P("zoho", "imap.zoho.eu", "smtp.zoho.eu");
    public static readonly MailProvider Gmx = P("gmx", "imap.gmx.net", "mail.gmx.net", 587);
    public static readonly MailProvider GmxCom = P("gmx", "imap.gmx.com", "mail.gmx.com", 587);
    public static readonly MailProvider WebDe = P("web.de", "imap.web.de", "smtp.web.de", 587);
    public static readonly MailProvider Yandex = P("yandex", "imap.yandex.com", "smtp.yandex.com");
    public static readonly MailProvider MailRu = P("mail.ru", "imap.mail.ru", "smtp.mail.ru");

    private static readonly Dictionary<string, MailProvider> ByDomain = Build(
        (Gmail, ["gmail.com", "googlemail.com"]),
        (Outlook, ["outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de",
            "hotmail.it", "hotmail.es", "live.co.uk", "live.fr", "live.de", "outlook.fr", "outlook.de", "outlook.es", "outlook.it"]),
        (Yahoo, ["yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.es", "yahoo.it",
            "yahoo.ca", "yahoo.com.au", "yahoo.co.jp", "yahoo.co.in", "yahoo.com.br"]),
        (ICloud, ["icloud.com", "me.com", "mac.com"]),
        (Aol, ["aol.com", "aim.com", "aol.co.uk", "aol.de", "aol.fr"]),
        (Fastmail, ["fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org", "messagingengine.com"]),
        (Zoho, ["zoho.com", "zohomail.com"]),
        (ZohoEu, ["zoho.eu", "zohomail.eu"]),
        (Gmx, ["gmx.net", "gmx.de", "gmx.at", "gmx.ch"]),
        (GmxCom, ["gmx.com", "gmx.us", "gmx.co.uk", "gmx.fr"]),
        (WebDe, ["web.de"]),
        (Yandex, ["yandex.ru", "yandex.com", "yandex.by", "yandex.kz", "yandex.ua", "ya.ru"]),
        (MailRu, ["mail.ru", "inbox.ru", "list.ru", "bk.ru", "internet.ru"]));

    // MX host suffixes, longest first so that Microsoft's consumer suffix wins over the business one.
    private static readonly (string Suffix, MailProvider Provider)[] ByMxSuffix =
    [
        ("olc.protection.outlook.com", Outlook),
        ("mail.protection.outlook.com", Office365),
        ("protection.outlook.com", Office365),
        ("aspmx.l.google.com", Gmail),
        ("googlemail.com", Gmail),
        ("google.com", Gmail),
        ("yahoodns.net", Yahoo),
        ("mail.icloud.com", ICloud),
        ("messagingengine.com", Fastmail),
        ("zoho.eu", ZohoEu),
        ("zoho.com", Zoho),
        ("zohomail.com", Zoho),
        ("gmx.net", Gmx),
        ("gmx.com", GmxCom),
        ("web.de", WebDe),
        ("yandex.net", Yandex),
        ("yandex.ru", Yandex),
        ("mail.ru", MailRu),
    ];

    // Provider names apps send (Nylas v2 used gmail, office365, outlook, yahoo, icloud, aol, …).
    private static readonly Dictionary<string, MailProvider> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["gmail"] = Gmail, ["google"] = Gmail, ["outlook"] = Outlook, ["hotmail"] = Outlook, ["office365"] = Office365,
        ["microsoft"] = Office365, ["yahoo"] = Yahoo, ["icloud"] = ICloud, ["aol"] = Aol, ["fastmail"] = Fastmail,
        ["zoho"] = Zoho, ["gmx"] = Gmx, ["yandex"] = Yandex, ["mail.ru"] = MailRu, ["mailru"] = MailRu, ["web.de"] = WebDe,
    };

    private static Dictionary<string, MailProvider> Build(params (MailProvider Provider, string[] Domains)[] entries)
    {
        var map = new Dictionary<string, MailProvider>(StringComparer.OrdinalIgnoreCase);
        foreach (var (provider, domains) in entries)
            foreach (string domain in domains) map.Add(domain, provider);
        return map;
    }

    /// <summary>The provider an app named (<c>gmail</c>, <c>office365</c>, …); null for <c>imap</c>, <c>custom</c> and unknown names.</summary>
    public static MailProvider? FindByName(string? name) => name is not null && ByName.TryGetValue(name.Trim(), out var p) ? p : null;

    /// <summary>The provider that hosts addresses of this domain by itself (gmail.com, outlook.com, …).</summary>
    public static MailProvider? FindByDomain(string domain) => ByDomain.TryGetValue(Normalize(domain), out var p) ? p : null;

    /// <summary>The domain part of an address, lower-cased; null when there is none.</summary>
    public static string? DomainOf(string emailAddress)
    {
        int at = emailAddress.LastIndexOf('@');
        if (at < 0 || at == emailAddress.Length - 1) return null;
        return Normalize(emailAddress[(at + 1)..]);
    }

    /// <summary>
    /// The provider behind a domain's MX hosts, tried in order of preference (lowest first): a
    /// custom domain whose mail Google or Microsoft receives is read over their IMAP servers.
    /// </summary>
    public static MailProvider? FindByMxHosts(IEnumerable<(string Host, int Preference)> mxHosts)
    {
        foreach (var (host, _) in mxHosts.OrderBy(m => m.Preference))
        {
            string h = Normalize(host);
            foreach (var (suffix, provider) in ByMxSuffix)
                if (h == suffix || h.EndsWith("." + suffix, StringComparison.Ordinal)) return provider;
        }
        return null;
    }

    private static string Normalize(string host) => host.Trim().TrimEnd('.').ToLowerInvariant();
}
