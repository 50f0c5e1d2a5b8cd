using Nylas.Core.Connect;
using Xunit;

namespace Nylas.Core.Tests.Connect;

/// <summary>The built-in provider table: by name, by email domain, by MX host names.</summary>
public class MailProvidersTests
{
    [Theory]
    [InlineData("someone@gmail.com", "gmail", "imap.gmail.com")]
    [InlineData("Someone@GoogleMail.com", "gmail", "imap.gmail.com")]
    [InlineData("a@outlook.com", "outlook", "outlook.office365.com")]
    [InlineData("a@hotmail.com", "outlook", "outlook.office365.com")]
    [InlineData("a@live.com", "outlook", "outlook.office365.com")]
    [InlineData("a@msn.com", "outlook", "outlook.office365.com")]
    [InlineData("a@yahoo.com", "yahoo", "imap.mail.yahoo.com")]
    [InlineData("a@ymail.com", "yahoo", "imap.mail.yahoo.com")]
    [InlineData("a@icloud.com", "icloud", "imap.mail.me.com")]
    [InlineData("a@me.com", "icloud", "imap.mail.me.com")]
    [InlineData("a@mac.com", "icloud", "imap.mail.me.com")]
    [InlineData("a@aol.com", "aol", "imap.aol.com")]
    [InlineData("a@fastmail.com", "fastmail", "imap.fastmail.com")]
    [InlineData("a@zoho.com", "zoho", "imap.zoho.com")]
    [InlineData("a@zoho.eu", "zoho", "imap.zoho.eu")]
    [InlineData("a@gmx.de", "gmx", "imap.gmx.net")]
    [InlineData("a@gmx.com", "gmx", "imap.gmx.com")]
    [InlineData("a@yandex.ru", "yandex", "imap.yandex.com")]
    [InlineData("a@mail.ru", "mail.ru", "imap.mail.ru")]
    [InlineData("a@bk.ru", "mail.ru", "imap.mail.ru")]
    public void Known_domains_map_to_their_provider(string email, string provider, string imapHost)
    {
        var found = MailProviders.FindByDomain(MailProviders.DomainOf(email)!);
        Assert.NotNull(found);
        Assert.Equal(provider, found.Name);
        Assert.Equal(imapHost, found.Imap.Host);
        Assert.Equal(993, found.Imap.Port);
        Assert.Equal(MailSecurity.Ssl, found.Imap.Security);
        // SMTP: 465 is TLS from the first byte, 587 STARTTLS.
        Assert.Equal(found.Smtp.Port == 465 ? MailSecurity.Ssl : MailSecurity.StartTls, found.Smtp.Security);
        Assert.Contains(found.Smtp.Port, new[] { 465, 587 });
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("gmail.com.evil.org")]
    [InlineData("notgmail.com")]
    public void Other_domains_are_not_in_the_table(string domain) => Assert.Null(MailProviders.FindByDomain(domain));

    [Theory]
    [InlineData("aspmx.l.google.com", "gmail")]
    [InlineData("ALT2.ASPMX.L.GOOGLE.COM.", "gmail")]
    [InlineData("smtp.google.com", "gmail")]
    [InlineData("gmail-smtp-in.l.google.com", "gmail")]
    [InlineData("contoso-com.mail.protection.outlook.com", "office365")]
    [InlineData("hotmail-com.olc.protection.outlook.com", "outlook")]
    [InlineData("mta7.am0.yahoodns.net", "yahoo")]
    [InlineData("mx01.mail.icloud.com", "icloud")]
    [InlineData("in1-smtp.messagingengine.com", "fastmail")]
    [InlineData("mx.zoho.com", "zoho")]
    [InlineData("mx.yandex.net", "yandex")]
    [InlineData("mxs.mail.ru", "mail.ru")]
    [InlineData("mx00.gmx.net", "gmx")]
    public void Mx_hosts_map_to_their_provider(string mxHost, string provider)
        => Assert.Equal(provider, MailProviders.FindByMxHosts([(mxHost, 10)])?.Name);

    [Fact]
    public void Unknown_and_look_alike_mx_hosts_map_to_nothing()
    {
        Assert.Null(MailProviders.FindByMxHosts([]));
        Assert.Null(MailProviders.FindByMxHosts([("mail.example.org", 10)]));
        Assert.Null(MailProviders.FindByMxHosts([("notgoogle.com", 10)]));
        Assert.Null(MailProviders.FindByMxHosts([("google.com.attacker.example", 10)]));
    }

    [Fact]
    public void The_preferred_mx_host_decides()
    {
        Assert.Equal("office365", MailProviders.FindByMxHosts([("aspmx.l.google.com", 20), ("x.mail.protection.outlook.com", 10)])?.Name);
        Assert.Equal("gmail", MailProviders.FindByMxHosts([("aspmx.l.google.com", 5), ("x.mail.protection.outlook.com", 10)])?.Name);
        // An unknown primary with a known backup still names the backup's provider.
        Assert.Equal("gmail", MailProviders.FindByMxHosts([("mx.self-hosted.example", 1), ("alt1.aspmx.l.google.com", 10)])?.Name);
    }

    [Theory]
    [InlineData("gmail", "gmail")]
    [InlineData("GMAIL", "gmail")]
    [InlineData("office365", "office365")]
    [InlineData("outlook", "outlook")]
    [InlineData("icloud", "icloud")]
    public void Providers_are_found_by_the_names_apps_send(string name, string provider)
        => Assert.Equal(provider, MailProviders.FindByName(name)?.Name);

    [Theory]
    [InlineData("imap")]
    [InlineData("custom")]
    [InlineData("")]
    [InlineData(null)]
    public void Generic_names_are_no_provider(string? name) => Assert.Null(MailProviders.FindByName(name));

    [Fact]
    public void Oauth_token_endpoints_are_known_for_google_and_microsoft()
    {
        Assert.Equal(MailProviders.GoogleTokenUrl, MailProviders.Gmail.OAuthTokenUrl);
        Assert.Equal(MailProviders.MicrosoftTokenUrl, MailProviders.Office365.OAuthTokenUrl);
        Assert.Equal(MailProviders.MicrosoftTokenUrl, MailProviders.Outlook.OAuthTokenUrl);
        Assert.Null(MailProviders.Yahoo.OAuthTokenUrl);
    }

    [Theory]
    [InlineData("a@Example.COM", "example.com")]
    [InlineData("\"a@b\"@example.org", "example.org")]
    [InlineData("no-at-sign", null)]
    [InlineData("trailing@", null)]
    public void The_domain_is_the_part_after_the_last_at(string email, string? domain) => Assert.Equal(domain, MailProviders.DomainOf(email));
}
