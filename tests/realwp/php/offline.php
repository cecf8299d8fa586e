<?php
/*
 * Must-use plugin of the test site: WordPress never talks to anything but itself.
 * WP_HTTP_BLOCK_EXTERNAL in wp-config.php already refuses outside hosts; this also refuses
 * loopback requests (nothing in the tests needs them) and switches off mail and update checks.
 */
add_filter(
    'pre_http_request',
    static function ($preempt, $args, $url) {
        return new WP_Error('http_request_blocked', 'The test site makes no HTTP requests: ' . $url);
    },
    PHP_INT_MAX,
    3
);
add_filter('pre_wp_mail', '__return_false', PHP_INT_MAX);

foreach (array('update_core', 'update_plugins', 'update_themes') as $transient) {
    add_filter(
        "pre_site_transient_{$transient}",
        static function () {
            return (object) array('last_checked' => time(), 'version_checked' => get_bloginfo('version'), 'updates' => array(), 'response' => array(), 'translations' => array());
        }
    );
}
remove_action('init', 'wp_schedule_update_checks');
remove_action('admin_init', '_maybe_update_core');
remove_action('admin_init', '_maybe_update_plugins');
remove_action('admin_init', '_maybe_update_themes');
remove_action('wp_version_check', 'wp_version_check');
remove_action('wp_update_plugins', 'wp_update_plugins');
remove_action('wp_update_themes', 'wp_update_themes');
remove_action('wp_maybe_auto_update', 'wp_maybe_auto_update');
