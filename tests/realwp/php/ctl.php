<?php
/*
 * Changes the test site from the command line, as an editor would through wp-admin.
 *
 *   php ctl.php OPERATION < arguments.json   (REALWP_ROOT names the WordPress tree)
 *
 * Prints the result as JSON on stdout; PHP's notices go to stderr.
 */
$op = $argv[1] ?? '';
$args = json_decode(stream_get_contents(STDIN), true, 16, JSON_THROW_ON_ERROR);
$root = getenv('REALWP_ROOT');

if ($op === 'install') {
    define('WP_INSTALLING', true);
}
// Code run from the command line still asks for the host, as in a web request.
$_SERVER['HTTP_HOST'] = parse_url($args['url'] ?? 'http://127.0.0.1', PHP_URL_HOST);
require $root . '/wp-load.php';

function realwp_fail(string $message): void
{
    fwrite(STDERR, $message . "\n");
    exit(1);
}

function realwp_check($result)
{
    if (is_wp_error($result)) {
        realwp_fail($result->get_error_code() . ': ' . $result->get_error_message());
    }
    if ($result === false || $result === null || $result === 0) {
        realwp_fail('WordPress refused the change');
    }
    return $result;
}

function realwp_existing_post(int $id): WP_Post
{
    $post = get_post($id);
    if (!$post) {
        realwp_fail("no post $id");
    }
    return $post;
}

function realwp_category_ids(array $slugs): array
{
    $ids = array();
    foreach ($slugs as $slug) {
        $term = get_category_by_slug($slug);
        if (!$term) {
            realwp_fail("no category $slug");
        }
        $ids[] = $term->term_id;
    }
    return $ids;
}

function realwp_install(array $args): array
{
    // The welcome mail: this site sends none (pluggable, so defined before upgrade.php).
    function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password)
    {
    }
    require_once ABSPATH . 'wp-admin/includes/upgrade.php';

    $result = wp_install($args['name'], 'admin', 'admin@example.invalid', true, '', $args['password']);
    update_option('siteurl', $args['url']);
    update_option('home', $args['url']);
    update_option('timezone_string', $args['timezone']);
    update_option('gmt_offset', '');
    // An editor's site has no sample content: start empty so counts and totals are the tests' own.
    foreach (get_posts(array('post_type' => 'any', 'post_status' => 'any', 'numberposts' => -1)) as $post) {
        wp_delete_post($post->ID, true);
    }
    update_option('wp_page_for_privacy_policy', 0);
    // Nothing to ping, ever.
    update_option('default_pingback_flag', 0);
    update_option('default_ping_status', 'closed');
    update_option('ping_sites', '');

    foreach ($args['categories'] as $slug => $name) {
        realwp_check(wp_insert_term($name, 'category', array('slug' => $slug)));
    }

    update_option('permalink_structure', $args['permalink_structure']);
    return array('user_id' => $result['user_id']);
}

function realwp_flush_rewrite_rules(array $args): array
{
    // In a process of its own: the category and tag rules are only registered at init when
    // pretty permalinks were already on, which they were not while installing.
    // A soft flush, as the rules live in the database and the router does what .htaccess would.
    flush_rewrite_rules(false);
    return array();
}

function realwp_add_post(array $args): array
{
    $date_gmt = $args['date_gmt'] ?? current_time('mysql', true);
    $draft = array(
        'post_type' => 'post',
        'post_status' => 'draft',
        'post_author' => get_current_user_id(),
        'post_title' => $args['title'],
        'post_content' => $args['content'],
        'post_category' => realwp_category_ids($args['categories']),
        'post_date_gmt' => $date_gmt,
        'post_date' => get_date_from_gmt($date_gmt),
    );
    if (isset($args['slug'])) {
        $draft['post_name'] = $args['slug'];
    }
    // The editor saves a draft first and publishes it afterwards: the guid is taken while the
    // post is a draft, so it has the ?p=ID form, as on sites where people write the posts.
    $id = realwp_check(wp_insert_post(wp_slash($draft), true));
    realwp_check(wp_update_post(array('ID' => $id, 'post_status' => 'publish'), true));
    return array('id' => $id);
}

function realwp_edit_post(array $args): array
{
    realwp_existing_post($args['id']);
    $changes = array('ID' => $args['id']);
    if (isset($args['title'])) {
        $changes['post_title'] = $args['title'];
    }
    if (isset($args['content'])) {
        $changes['post_content'] = $args['content'];
    }
    realwp_check(wp_update_post(wp_slash($changes), true));
    return array();
}

function realwp_set_modified(array $args): array
{
    global $wpdb;
    realwp_existing_post($args['id']);
    $wpdb->update(
        $wpdb->posts,
        array(
            'post_modified_gmt' => $args['modified_gmt'],
            'post_modified' => get_date_from_gmt($args['modified_gmt']),
        ),
        array('ID' => $args['id'])
    );
    clean_post_cache($args['id']);
    return array();
}

function realwp_change_slug(array $args): array
{
    realwp_existing_post($args['id']);
    realwp_check(wp_update_post(wp_slash(array('ID' => $args['id'], 'post_name' => $args['slug'])), true));
    return array('slug' => get_post($args['id'])->post_name);
}

function realwp_trash_post(array $args): array
{
    realwp_existing_post($args['id']);
    realwp_check(wp_trash_post($args['id']));
    return array();
}

function realwp_untrash_post(array $args): array
{
    realwp_existing_post($args['id']);
    // Since WordPress 5.6 an untrashed post comes back as a draft; the protocol's untrash means
    // "published again", which is what the editor gets by publishing it right away.
    add_filter('wp_untrash_post_status', 'wp_untrash_post_set_previous_status', 10, 3);
    realwp_check(wp_untrash_post($args['id']));
    return array();
}

function realwp_set_tagline(array $args): array
{
    update_option('blogdescription', $args['text']);
    return array();
}

function realwp_set_timezone(array $args): array
{
    // As Settings > General saves a named zone: the name, and no fixed offset.
    update_option('timezone_string', $args['name']);
    update_option('gmt_offset', '');
    return array();
}

$operations = array(
    'install' => 'realwp_install',
    'flush_rewrite_rules' => 'realwp_flush_rewrite_rules',
    'add_post' => 'realwp_add_post',
    'edit_post' => 'realwp_edit_post',
    'set_modified' => 'realwp_set_modified',
    'change_slug' => 'realwp_change_slug',
    'trash_post' => 'realwp_trash_post',
    'untrash_post' => 'realwp_untrash_post',
    'set_tagline' => 'realwp_set_tagline',
    'set_timezone' => 'realwp_set_timezone',
);
if (!isset($operations[$op])) {
    realwp_fail("unknown operation '$op'");
}
if ($op !== 'install') {
    // As the site's administrator, so content is saved unfiltered, as an editor's would be.
    wp_set_current_user(1);
}
echo json_encode(($operations[$op])($args)), "\n";
